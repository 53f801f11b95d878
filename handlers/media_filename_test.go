package handlers

import "testing"

func TestSafeFilename(t *testing.T) {
	cases := []struct{ in, want string }{
		{"nf-4471.pdf", "nf-4471.pdf"},
		{`..\..\etc/passwd`, "passwd"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"a\u200bb\u2028c.pdf", "abc.pdf"},
		{"say \"hi\".txt", "say hi.txt"},
		{"\x00\x1f", ""},
	}
	for _, tc := range cases {
		if got := safeFilename(tc.in); got != tc.want {
			t.Errorf("safeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
