package auth

import (
	"strconv"
	"strings"
	"testing"
)

// The password rule in words names MinPasswordLength.
func TestPasswordTooShortNamesTheLength(t *testing.T) {
	if !strings.Contains(passwordTooShort, " "+strconv.Itoa(MinPasswordLength)+" ") {
		t.Fatalf("%q does not say %d", passwordTooShort, MinPasswordLength)
	}
	if got := passwordProblem(strings.Repeat("x", MinPasswordLength-1)); got != passwordTooShort {
		t.Fatalf("short password: %q", got)
	}
}
