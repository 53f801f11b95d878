package coex

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseLargeChunk parses a history delivery of about 3 MB
// (Meta's payload limit): one chunk, 100 threads of 100 messages.
func BenchmarkParseLargeChunk(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{` +
		`"metadata":{"display_phone_number":"5511987650000","phone_number_id":"2"},"history":[{"metadata":{"phase":1,"chunk_order":1,"progress":50},"threads":[`)
	for t := 0; t < 100; t++ {
		if t > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"55119%08d","messages":[`, t)
		for m := 0; m < 100; m++ {
			if m > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"from":"55119%08d","id":"wamid.%d.%d","timestamp":"%d","type":"text","text":{"body":"mensagem número %d da conversa, com algum texto para busca"},"history_context":{"status":"READ"}}`,
				t, t, m, 1760000000+m, m)
		}
		sb.WriteString(`]}`)
	}
	sb.WriteString(`]}]}}]}]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		batch, err := Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(batch.Changes[0].Chunks[0].Messages); n != 10000 {
			b.Fatalf("got %d messages", n)
		}
	}
	reportCPUThroughput(b, start, int64(len(body)))
}
