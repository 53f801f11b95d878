// Package sim is the bundled Coex simulator: a local stand-in for Meta's Graph API and for
// Positus, used by the demo, by tests and by benchmarks.
//
// Generate builds a deterministic (seeded) history of one business number: contacts as
// smb_app_state_sync webhooks, messages of the 180 days before onboarding as history chunks
// in phases 0, 1 and 2, and media follow-ups for the placeholders of the last 14 days, all
// encoded in Meta's webhook shapes by this package's own types.
//
// The benchmarks take their data from here too: Corpus generates stored threads and
// messages for the search benchmark, and HistoryStream generates a history sync of any size
// one webhook body at a time for the ingest benchmark. Generate and HistoryStream share one
// encoder of Meta's payloads (wire.go: the types, the escaping, the WAMIDs) and draw phase
// windows, phone numbers, statuses and texts the same way (draw.go, texts.go).
//
// Server answers the sync endpoints (Meta's smb_app_data and Positus's onboarding-smb-app
// calls, once per number and sync type), posts the webhooks of an accepted sync to a
// callback (signed with X-Hub-Signature-256 for Meta, with a secret header for Positus) at
// a configurable pace, and answers the Message History and Message History Events APIs for
// the outbound messages it generated. Faults reorder, duplicate, decline, stall and
// rate-limit on request.
package sim
