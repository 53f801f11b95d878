package browsertest

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Emulate makes the tab behave like a browser set to the IANA time zone (such as
// America/Sao_Paulo) and the language (such as pt-BR): Intl and Date use them, and every
// request says Accept-Language: language. Call it before the first Navigate; an empty
// value leaves that setting alone.
func (b *Browser) Emulate(timeZone, language string) {
	b.t.Helper()
	b.Run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if timeZone != "" {
			if _, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: timeZone}); err != nil {
				return err
			}
		}
		if language != "" {
			if _, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: language}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": language},
			}); err != nil {
				return err
			}
		}
		return nil
	}))
}
