package search

// ScanLimits are the engine's bounds (see scanRecent and scanIndex).
type ScanLimits struct {
	Batch, MaxScan               int
	Window, Windows, ContactScan int // MySQL only; Window 0 turns scanRecent off
	RankLimit                    int // MySQL only; 0 always ranks
}

// SetScanLimits changes a Searcher's bounds, so that tests walk every path over a small corpus.
func SetScanLimits(s Searcher, l ScanLimits) {
	e := s.(*engine)
	e.batch, e.maxScan = l.Batch, l.MaxScan
	if e.dialect == mysqlDialect {
		e.window, e.windows, e.contactScan, e.rankLimit = l.Window, l.Windows, l.ContactScan, l.RankLimit
	}
}
