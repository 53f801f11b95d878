package viewer

import (
	"context"
	"testing"
	"time"
)

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"America/Sao_Paulo", "UTC", "Europe/Lisbon", "Asia/Kolkata", "Etc/GMT+3"} {
		if _, err := LoadZone(ok); err != nil {
			t.Errorf("LoadZone(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Local", "../../etc/passwd", "/etc/localtime", "Mars/Olympus", "America/Sao Paulo", string(make([]byte, 100))} {
		if _, err := LoadZone(bad); err == nil {
			t.Errorf("LoadZone(%q) accepted", bad)
		}
	}
}

func TestFormats(t *testing.T) {
	loc, _ := LoadZone("America/Sao_Paulo")
	v := Viewer{Loc: loc, Zone: "America/Sao_Paulo"}
	at := time.Date(2025, 10, 10, 7, 33, 5, 0, time.UTC)
	for got, want := range map[string]string{
		v.Exact(at):     "2025-10-10 04:33:05 -03",
		v.Minute(at):    "2025-10-10 04:33",
		v.Clock(at):     "04:33",
		v.Date(at):      "2025-10-10",
		v.ZoneLabel(at): "America/Sao_Paulo (UTC-03:00)",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// Just after midnight UTC is still the previous day in São Paulo.
	if got := v.Date(time.Date(2025, 10, 11, 1, 0, 0, 0, time.UTC)); got != "2025-10-10" {
		t.Errorf("day %q", got)
	}
	india, _ := LoadZone("Asia/Kolkata")
	if got := (Viewer{Loc: india}).Exact(at); got != "2025-10-10 13:03:05 +05:30" {
		t.Errorf("India %q", got)
	}
	if got := Default().Exact(at); got != "2025-10-10 07:33:05 UTC" {
		t.Errorf("UTC %q", got)
	}
}

func TestContext(t *testing.T) {
	if From(context.Background()).Loc != time.UTC {
		t.Fatal("default is not UTC")
	}
	loc, _ := LoadZone("America/Sao_Paulo")
	ctx := WithContext(context.Background(), Viewer{Loc: loc, Zone: "America/Sao_Paulo"})
	if v := From(ctx); v.Zone != "America/Sao_Paulo" || v.Lang != "en" {
		t.Fatalf("from context: %+v", v)
	}
}

func TestCount(t *testing.T) {
	en, pt := Default(), Viewer{Lang: "pt-BR"}
	for n, want := range map[int64][2]string{
		0: {"0", "0"}, 999: {"999", "999"}, 1000: {"1,000", "1.000"}, 60000: {"60,000", "60.000"},
		1234567: {"1,234,567", "1.234.567"}, -4200: {"-4,200", "-4.200"},
	} {
		if got := en.Count(n); got != want[0] {
			t.Errorf("en %d = %q", n, got)
		}
		if got := pt.Count(n); got != want[1] {
			t.Errorf("pt-BR %d = %q", n, got)
		}
	}
}
