package ingest

import (
	"log/slog"
	"time"

	"coexhistory/internal/store"
)

// outage logs a repeated operation's errors once per outage instead of once per try: a
// WARN with the database error code when it starts failing or the code changes, and an INFO
// with how long it lasted and how many tries failed when it works again. (A worker polls
// every 500 ms; a database node down for minutes must not write a line per poll.)
type outage struct {
	since  time.Time
	code   int
	failed int
}

func (o *outage) report(log *slog.Logger, op string, err error) {
	if err == nil {
		if o.failed > 0 {
			log.Info(op+": works again", "failed_tries", o.failed, "outage", time.Since(o.since).Round(time.Millisecond))
			*o = outage{}
		}
		return
	}
	code := store.ErrorCode(err)
	if o.failed == 0 || code != o.code {
		if o.failed == 0 {
			o.since = time.Now()
		}
		log.Warn(op+" fails; logged again when it works or the error changes", "code", code, "err", store.DescribeError(err))
		o.code = code
	}
	o.failed++
}
