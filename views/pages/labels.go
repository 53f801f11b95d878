package pages

import (
	"context"

	"coexhistory/internal/i18n"
)

// DirectionLabel is a direction in words.
func DirectionLabel(ctx context.Context, d string) string {
	switch d {
	case "inbound":
		return i18n.T(ctx, "search.dir.received")
	case "outbound":
		return i18n.T(ctx, "search.dir.sent")
	}
	return d
}

// OriginLabel is an origin in words.
func OriginLabel(ctx context.Context, o string) string {
	switch o {
	case "history":
		return i18n.T(ctx, "origin.history")
	case "echo":
		return i18n.T(ctx, "origin.echo")
	case "live":
		return i18n.T(ctx, "origin.live")
	case "api":
		return i18n.T(ctx, "origin.api")
	}
	return o
}

// TypeLabel is a stored message type as a word of the reader's language ("image",
// "imagem"); English shows the type itself, and so does any language for a type it has no
// word for.
func TypeLabel(ctx context.Context, t string) string {
	if id, ok := typeIDs[t]; ok {
		return i18n.T(ctx, id)
	}
	return t
}

// typeIDs are the catalogue's words for the stored message types (each id spelled out, so
// TestCatalogues sees it).
var typeIDs = map[string]string{
	"text":              msg("msgtype.text"),
	"image":             msg("msgtype.image"),
	"video":             msg("msgtype.video"),
	"audio":             msg("msgtype.audio"),
	"document":          msg("msgtype.document"),
	"sticker":           msg("msgtype.sticker"),
	"location":          msg("msgtype.location"),
	"contacts":          msg("msgtype.contacts"),
	"interactive":       msg("msgtype.interactive"),
	"button":            msg("msgtype.button"),
	"template":          msg("msgtype.template"),
	"reaction":          msg("msgtype.reaction"),
	"order":             msg("msgtype.order"),
	"system":            msg("msgtype.system"),
	"media_placeholder": msg("msgtype.media_placeholder"),
	"unsupported":       msg("msgtype.unsupported"),
	"unknown":           msg("msgtype.unknown"),
}

// msg names a catalogue id where the text is looked up later (TestCatalogues checks the id).
func msg(id string) string { return id }

// AccountStateLabel is a number's account state in words; English shows the state itself.
func AccountStateLabel(ctx context.Context, s string) string {
	if id, ok := accountStateIDs[s]; ok {
		return i18n.T(ctx, id)
	}
	return s
}

var accountStateIDs = map[string]string{
	"active":          msg("account.state.active"),
	"partner_removed": msg("account.state.partner_removed"),
	"offboarded":      msg("account.state.offboarded"),
	"reconnected":     msg("account.state.reconnected"),
	"app_uninstalled": msg("account.state.app_uninstalled"),
}

// InboxStateLabel is a webhook's inbox state in words; English shows the state itself.
func InboxStateLabel(ctx context.Context, s string) string {
	if id, ok := inboxStateIDs[s]; ok {
		return i18n.T(ctx, id)
	}
	return s
}

var inboxStateIDs = map[string]string{
	"pending":        msg("inbox.st.pending"),
	"processing":     msg("inbox.st.processing"),
	"done":           msg("inbox.st.done"),
	"failed":         msg("inbox.st.failed"),
	"unknown_number": msg("inbox.st.unknown_number"),
	"refused":        msg("inbox.st.refused"),
}

// RoleLabel is a staff role in words; English shows the role itself.
func RoleLabel(ctx context.Context, r string) string {
	switch r {
	case "admin":
		return i18n.T(ctx, "role.admin")
	case "agent":
		return i18n.T(ctx, "role.agent")
	}
	return r
}

// StatusTitle is the title of an error page for an HTTP status; English is Go's status
// text (title), as before.
func StatusTitle(ctx context.Context, status int, title string) string {
	if id, ok := statusIDs[status]; ok {
		return i18n.T(ctx, id)
	}
	return title
}

var statusIDs = map[int]string{
	400: msg("status.400"),
	401: msg("status.401"),
	403: msg("status.403"),
	404: msg("status.404"),
	405: msg("status.405"),
	409: msg("status.409"),
	413: msg("status.413"),
	422: msg("status.422"),
	429: msg("status.429"),
	500: msg("status.500"),
	502: msg("status.502"),
	503: msg("status.503"),
	504: msg("status.504"),
}
