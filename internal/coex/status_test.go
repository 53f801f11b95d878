package coex

import "testing"

func TestNormalizeStatus(t *testing.T) {
	tests := map[string]string{
		"READ": "read", "Delivered": "delivered", " sent ": "sent", "PENDING": "pending",
		"played": "played", "ERROR": "error", "failed": "error", "FAILED": "error",
		"": "", "Deleted": "deleted", "ACCEPTED": "accepted",
	}
	for in, want := range tests {
		if got := NormalizeStatus(in); got != want {
			t.Errorf("NormalizeStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusRank(t *testing.T) {
	order := []string{"", "pending", "sent", "delivered", "read", "played", "error"}
	for i := 1; i < len(order); i++ {
		if StatusRank(order[i-1]) >= StatusRank(order[i]) {
			t.Errorf("StatusRank(%q)=%d is not below StatusRank(%q)=%d", order[i-1], StatusRank(order[i-1]), order[i], StatusRank(order[i]))
		}
	}
	for _, s := range []string{"", "bogus", "deleted"} {
		if StatusRank(s) != 0 {
			t.Errorf("StatusRank(%q) = %d, want 0", s, StatusRank(s))
		}
	}
	if StatusRank("READ") != StatusRank("read") || StatusRank("FAILED") != StatusRank("error") {
		t.Error("StatusRank does not normalise its input")
	}
}

func TestMergeStatus(t *testing.T) {
	tests := []struct{ current, incoming, want string }{
		{"", "", ""},
		{"", "sent", "sent"},
		{"", "READ", "read"},
		{"sent", "delivered", "delivered"},
		{"delivered", "read", "read"},
		{"read", "delivered", "read"}, // a late delivered never lowers read
		{"read", "sent", "read"},
		{"READ", "DELIVERED", "read"},
		{"read", "played", "played"},
		{"played", "read", "played"},
		{"pending", "sent", "sent"},
		{"sent", "pending", "sent"},
		{"read", "", "read"},
		{"read", "error", "error"},
		{"sent", "failed", "error"},
		{"error", "read", "error"}, // error is final
		{"error", "played", "error"},
		{"ERROR", "delivered", "error"},
		{"", "deleted", "deleted"}, // unknown replaces nothing but empty
		{"sent", "deleted", "sent"},
		{"deleted", "delivered", "delivered"},
		{"deleted", "accepted", "deleted"},
	}
	for _, tt := range tests {
		if got := MergeStatus(tt.current, tt.incoming); got != tt.want {
			t.Errorf("MergeStatus(%q, %q) = %q, want %q", tt.current, tt.incoming, got, tt.want)
		}
	}
}

func TestDigits(t *testing.T) {
	tests := map[string]string{
		"5511987650000":        "5511987650000",
		"+5511987650000":       "5511987650000",
		"+55 11 98765-0000":    "5511987650000",
		"+1 (650) 555-1234":    "16505551234",
		"":                     "",
		"US.13491208655302741": "US.13491208655302741",
	}
	for in, want := range tests {
		if got := Digits(in); got != want {
			t.Errorf("Digits(%q) = %q, want %q", in, got, want)
		}
	}
}
