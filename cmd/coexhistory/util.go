package main

import (
	"errors"
	"sort"
	"strings"

	"coexhistory/internal/apperr"
	"coexhistory/internal/auth"
	"coexhistory/internal/store"
	"coexhistory/models"
)

func authService(db *store.DB) *auth.Service {
	return auth.New(db, auth.DefaultLimits, nil, 0)
}

// describe turns a form validation error into one readable line.
func describe(err error) error {
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return errors.New(strings.Join(parts, "; "))
}

func auditToken(name, role string) models.AuditEntry {
	return models.AuditEntry{Actor: "cli", Action: "token.create", Target: name, Detail: "role=" + role}
}

func auditUser(action, target, detail string) models.AuditEntry {
	return models.AuditEntry{Actor: "cli", Action: action, Target: target, Detail: detail}
}
