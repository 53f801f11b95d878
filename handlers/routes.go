package handlers

import (
	"github.com/labstack/echo/v4"

	"coexhistory/internal/export"
)

// Register adds every route of coexhistory to e, grouped by trust.
func (h *Handlers) Register(e *echo.Echo) {
	// Public: health and sign-in.
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/favicon.ico", favicon)
	public := e.Group("", noStoreAll, h.loadSession, h.loadViewer, h.csrf)
	public.GET("/login", h.loginPage)
	public.POST("/login", h.login)

	// Webhooks: authenticated by signature (Meta) or per-install secret (Positus); no
	// session, no CSRF.
	e.GET("/webhooks/whatsapp", h.verifyWebhook)
	e.POST("/webhooks/whatsapp", h.receiveMeta)
	e.POST("/webhooks/positus", h.receivePositus)
	e.POST("/webhooks/positus/:secret", h.receivePositus)

	// Staff pages: a session, and a CSRF token on every state-changing request.
	staff := e.Group("", noStoreAll, h.loadSession, requireSession, passwordGate, h.loadViewer, h.csrf)
	staff.POST("/logout", h.logout)
	staff.GET("/account", h.accountPage)
	staff.POST("/account/password", h.changePassword)
	staff.POST("/account/sign-out-everywhere", h.signOutEverywhere)
	staff.GET("/", h.home)
	staff.GET("/numbers", h.numbersPage)
	staff.GET("/numbers/table", h.numbersTable)
	staff.GET("/numbers/:id", h.numberPage)
	staff.GET("/numbers/:id/sync", h.syncFragment)
	staff.GET("/messages/:wamid/events", h.messageEvents)
	staff.POST("/messages/:wamid/events/refresh", h.refreshMessageEvents)
	staff.GET("/search", h.searchPage)
	staff.GET("/numbers/:id/threads", h.numberThreads)
	staff.GET("/threads/:id", h.threadPage)
	staff.GET("/messages/:wamid/media", h.staffMedia)
	staff.GET("/profile", h.profilePage)
	staff.GET("/conversations", h.conversationsPage)
	staff.POST("/conversations/seen", h.markConversationsSeen)
	staff.POST("/profile", h.saveProfile)

	// Admin pages.
	// Per route, not as a group: a group's middleware also runs for unknown URLs, which
	// would answer agents 403 instead of 404.
	admin := adminRoutes{staff}
	admin.POST("/numbers", h.createNumber)
	admin.GET("/numbers/:id/edit", h.editNumberPage)
	admin.POST("/numbers/:id", h.updateNumber)
	admin.DELETE("/numbers/:id", h.deleteNumber)
	admin.POST("/numbers/:id/sync", h.requestSync)
	admin.GET("/admin/health", h.healthPage)
	admin.GET("/admin/inbox", h.inboxPage)
	admin.GET("/admin/inbox/:id", h.inboxItemPage)
	admin.POST("/admin/inbox/:id/reprocess", h.reprocessInbox)
	admin.POST("/messages/:wamid/media/retry", h.retryMedia)
	admin.GET("/admin/audit", h.auditPage)
	admin.GET("/admin/users", h.usersPage)
	admin.POST("/admin/users", h.createUser)
	admin.POST("/admin/users/:id/role", h.setUserRole)
	admin.POST("/admin/users/:id/disable", h.userAction(h.disableUser))
	admin.POST("/admin/users/:id/enable", h.userAction(h.enableUser))
	admin.POST("/admin/users/:id/sign-out", h.userAction(h.endUserSessions))
	admin.POST("/admin/users/:id/reset-password", h.resetUserPassword)
	admin.DELETE("/admin/users/:id", h.userAction(h.deleteUser))
	admin.POST("/admin/tokens", h.createToken)
	admin.DELETE("/admin/tokens/:id", h.revokeToken)
	admin.GET("/threads/:id/export.json", h.exportThread(export.FormatJSON))
	admin.GET("/threads/:id/export.csv", h.exportThread(export.FormatCSV))
	admin.GET("/threads/:id/export.txt", h.exportThread(export.FormatText))

	// JSON API: bearer token.
	api := e.Group("/api/v1", noStoreAll, h.apiAuth)
	api.GET("/numbers", h.apiListNumbers)
	api.GET("/numbers/:phone_number_id/sync", h.apiSyncStatus)
	api.GET("/messages/:wamid/events", h.apiMessageEvents)
	api.GET("/messages/:wamid/media", h.apiMedia)
	api.GET("/threads", h.apiListThreads)
	api.GET("/threads/:id/messages", h.apiThreadMessages)
	api.GET("/search", h.apiSearch)
	apiAdmin := adminRoutes{api}
	apiAdmin.POST("/numbers", h.apiCreateNumber)
	apiAdmin.POST("/numbers/:phone_number_id/sync", h.apiRequestSync)
}

// adminRoutes adds routes that only admins may use to a group.
type adminRoutes struct{ g *echo.Group }

func (a adminRoutes) GET(path string, h echo.HandlerFunc) { a.g.GET(path, h, requireAdmin) }

func (a adminRoutes) POST(path string, h echo.HandlerFunc) { a.g.POST(path, h, requireAdmin) }

func (a adminRoutes) DELETE(path string, h echo.HandlerFunc) { a.g.DELETE(path, h, requireAdmin) }
