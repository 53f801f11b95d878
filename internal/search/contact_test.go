package search_test

import (
	"fmt"
	"strings"
	"testing"

	"coexhistory/internal/search"
	"coexhistory/internal/store"
)

func TestParseContact(t *testing.T) {
	for in, want := range map[string]search.ContactMatch{
		"":                       {},
		"   ":                    {},
		"+55 (11) 9-1234":        {Digits: "551191234"},
		"5511":                   {Digits: "5511"},
		"Ana":                    {Name: "Ana"},
		" Ana Souza ":            {Name: "Ana Souza"},
		"11 Ana":                 {Name: "11 Ana"},
		"+":                      {Name: "+"},
		strings.Repeat("é", 300): {Name: strings.Repeat("é", 100)},
	} {
		if got := search.ParseContact(in); got != want {
			t.Errorf("ParseContact(%q) = %+v, want %+v", in, got, want)
		}
	}
	cond, args := search.ContactMatch{Name: "50%_off!"}.Where(store.MySQL, "t.")
	if cond != "(t.contact_name LIKE ? ESCAPE '!' OR t.contact_username LIKE ? ESCAPE '!' OR t.contact_user_id LIKE ? ESCAPE '!')" ||
		fmt.Sprint(args) != "[%50!%!_off!!% %50!%!_off!!% %50!%!_off!!%]" {
		t.Errorf("Where = %q %v", cond, args)
	}
	cond, args = search.ContactMatch{Name: "OTÁVIO"}.Where(store.SQLite, "t.")
	if cond != "(coex_fold(t.contact_name) LIKE ? ESCAPE '!' OR coex_fold(t.contact_username) LIKE ? ESCAPE '!' OR t.contact_user_id LIKE ? ESCAPE '!')" ||
		fmt.Sprint(args) != "[%otavio% %otavio% %OTÁVIO%]" {
		t.Errorf("Where (SQLite) = %q %v", cond, args)
	}
	cond, args = search.ContactMatch{Name: "@Padaria"}.Where(store.SQLite, "t.")
	if cond != "coex_fold(t.contact_username) LIKE ? ESCAPE '!'" || fmt.Sprint(args) != "[%padaria%]" {
		t.Errorf("Where (@username) = %q %v", cond, args)
	}
}
