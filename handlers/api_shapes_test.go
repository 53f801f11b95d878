package handlers

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

func TestThreadJSONShapes(t *testing.T) {
	keys := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	check := func(name string, got, want []string) {
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s JSON keys = %v, want %v", name, got, want)
		}
	}
	check("thread", keys(threadJSON{}), []string{"id", "phone_number_id", "contact_wa_id", "contact_user_id", "contact_username", "contact_name", "message_count", "first_message_at", "last_message_at"})
	check("message", keys(messageJSON{}), []string{"wamid", "direction", "type", "text", "timestamp", "status", "origin", "edited", "deleted", "media"})
	check("thread page", keys(threadPageJSON{}), []string{"data", "next_cursor"})
}
