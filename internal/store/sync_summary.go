package store

import (
	"context"
	"fmt"
	"time"

	"coexhistory/models"
)

// Reading a number's history sync: its summary for the API and the progress view, and its
// chunk ledger.

// SyncSummary is the state of a number's history sync, for the API and the progress view.
// Times are Unix seconds, 0 when unknown.
type SyncSummary struct {
	PhoneNumberID string
	State         string
	Progress      int
	Phases        []PhaseSummary
	ChunkGaps     []ChunkGap
	MessagesTotal int64
	ThreadsTotal  int64
	ErrorCode     int
	ErrorMessage  string
	FirstChunkAt  int64
	LastChunkAt   int64
	CompletedAt   int64
}

// PhaseSummary is what arrived of one phase (0 = day 0–1, 1 = day 1–90, 2 = day 90–180).
type PhaseSummary struct {
	Phase       int
	Chunks      int
	Messages    int // as delivered in the chunks
	LastChunkAt int64
}

// ChunkGap lists the chunk orders of a phase missing between the lowest and highest seen
// (at most maxGapList).
type ChunkGap struct {
	Phase   int
	Missing []int
}

const maxGapList = 1000

// SyncSummary summarises a number's history sync. A number without a sync run is
// "not_requested" (with whatever chunks and messages are stored).
func (db *DB) SyncSummary(ctx context.Context, phoneNumberID string) (SyncSummary, error) {
	s := SyncSummary{PhoneNumberID: phoneNumberID, State: models.SyncNotRequested, Phases: []PhaseSummary{}, ChunkGaps: []ChunkGap{}}
	var runs []models.SyncRun
	if err := db.q(ctx).Where("phone_number_id = ?", phoneNumberID).Limit(1).Find(&runs).Error; err != nil {
		return s, fmt.Errorf("sync summary: %w", translate(err))
	}
	if len(runs) == 1 {
		r := runs[0]
		s.State, s.Progress, s.ErrorCode, s.ErrorMessage = r.State, r.Progress, r.ErrorCode, r.ErrorMessage
		s.FirstChunkAt, s.LastChunkAt, s.CompletedAt = unixOrZero(r.FirstChunkAt), unixOrZero(r.LastChunkAt), unixOrZero(r.CompletedAt)
	}
	var chunks []struct {
		Phase        int       `gorm:"column:phase"`
		ChunkOrder   int       `gorm:"column:chunk_order"`
		MessageCount int       `gorm:"column:message_count"`
		ReceivedAt   time.Time `gorm:"column:received_at"`
	}
	err := db.q(ctx).Table("history_chunks").Select("phase, chunk_order, message_count, received_at").
		Where("phone_number_id = ?", phoneNumberID).Order("phase, chunk_order").Scan(&chunks).Error
	if err != nil {
		return s, fmt.Errorf("sync summary: chunks: %w", translate(err))
	}
	for i := 0; i < len(chunks); {
		j := i
		p := PhaseSummary{Phase: chunks[i].Phase}
		var missing []int
		for ; j < len(chunks) && chunks[j].Phase == p.Phase; j++ {
			c := chunks[j]
			p.Chunks++
			p.Messages += c.MessageCount
			if t := c.ReceivedAt.Unix(); t > p.LastChunkAt {
				p.LastChunkAt = t
			}
			if j > i {
				for n := chunks[j-1].ChunkOrder + 1; n < c.ChunkOrder && len(missing) < maxGapList; n++ {
					missing = append(missing, n)
				}
			}
		}
		s.Phases = append(s.Phases, p)
		if len(missing) > 0 {
			s.ChunkGaps = append(s.ChunkGaps, ChunkGap{Phase: p.Phase, Missing: missing})
		}
		i = j
	}
	if s.ThreadsTotal, s.MessagesTotal, err = db.CountThreadsAndMessages(ctx, phoneNumberID); err != nil {
		return s, fmt.Errorf("sync summary: totals: %w", err)
	}
	return s, nil
}

func unixOrZero(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.Unix()
}

// ListChunks lists a number's chunk ledger, latest received first.
func (db *DB) ListChunks(ctx context.Context, phoneNumberID string, limit int) ([]models.HistoryChunk, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []models.HistoryChunk
	err := db.q(ctx).Where("phone_number_id = ?", phoneNumberID).Order("id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list chunks: %w", translate(err))
	}
	return out, nil
}
