package pages

import (
	"context"
	"strings"

	"coexhistory/internal/i18n"
)

// How a contact is named: its name, else its phone number, else its username (@name), else
// its business-scoped user id, shortened (the full id goes in a title attribute). A contact
// with a WhatsApp username may have no phone number at all.

// contactLabel is the contact's title.
func contactLabel(name, waID, username, userID string) string {
	switch {
	case name != "":
		return name
	case waID != "":
		return "+" + waID
	case username != "":
		return "@" + strings.TrimPrefix(username, "@")
	case userID != "":
		return shortUserID(userID)
	}
	return "Unknown contact"
}

// contactLabelIn is contactLabel with "Unknown contact" in the reader's language.
func contactLabelIn(ctx context.Context, name, waID, username, userID string) string {
	if name == "" && waID == "" && username == "" && userID == "" {
		return i18n.T(ctx, "contact.unknown")
	}
	return contactLabel(name, waID, username, userID)
}

// contactHandle is the line under a named contact: the phone number, else @username, else
// the shortened user id; "" when there is nothing more than the title.
func contactHandle(name, waID, username, userID string) string {
	if name == "" {
		return ""
	}
	switch {
	case waID != "":
		return "+" + waID
	case username != "":
		return "@" + strings.TrimPrefix(username, "@")
	case userID != "":
		return shortUserID(userID)
	}
	return ""
}

// contactHover is the full user id when the contact is shown without a phone number.
func contactHover(waID, userID string) string {
	if waID != "" {
		return ""
	}
	return userID
}

// shortUserID shortens a business-scoped user id ("user.4f1c2a9d8e7b…" → "user.4f1c2a9d…").
func shortUserID(id string) string {
	const keep = 13
	if len(id) <= keep+3 {
		return id
	}
	return id[:keep] + "…"
}
