package models

import "time"

// Media job states. A job is pending until a worker leases it (processing), and ends done
// (the file is stored), expired (the provider no longer has it) or failed (with a reason).
const (
	MediaPending    = "pending"
	MediaProcessing = "processing"
	MediaDone       = "done"
	MediaExpired    = "expired"
	MediaFailed     = "failed"
)

// Media states shown for a message, beyond the job states: a history placeholder that
// WhatsApp never shares (older than 14 days before onboarding) is unavailable; a newer one
// waits for its follow-up.
const (
	MediaUnavailable = "unavailable"
	MediaAwaiting    = "awaiting"
	MediaPurged      = "purged"
)

// MediaJob downloads one media id of a business number into the media storage, where the
// file is named by its SHA-256.
type MediaJob struct {
	ID             uint64     `gorm:"column:id;primaryKey" json:"id"`
	PhoneNumberID  string     `gorm:"column:phone_number_id" json:"phone_number_id"`
	MediaID        string     `gorm:"column:media_id" json:"media_id"`
	WAMID          string     `gorm:"column:wamid" json:"wamid"`
	Kind           string     `gorm:"column:kind" json:"kind"` // image, audio, video, document, sticker
	MimeType       string     `gorm:"column:mime_type" json:"mime_type"`
	ExpectedSHA256 string     `gorm:"column:expected_sha256" json:"expected_sha256"` // as the webhook sent it
	Filename       string     `gorm:"column:filename" json:"filename"`
	State          string     `gorm:"column:state" json:"state"`
	Attempts       int        `gorm:"column:attempts" json:"attempts"`
	NextAttemptMs  int64      `gorm:"column:next_attempt_ms" json:"-"`
	LeaseOwner     string     `gorm:"column:lease_owner" json:"-"`
	LeaseUntilMs   int64      `gorm:"column:lease_until_ms" json:"-"`
	Error          string     `gorm:"column:error" json:"error"`
	SHA256         string     `gorm:"column:sha256" json:"sha256"` // of the stored file (hex)
	Size           int64      `gorm:"column:size" json:"size"`
	StoredMimeType string     `gorm:"column:stored_mime_type" json:"stored_mime_type"`
	CreatedAt      time.Time  `gorm:"column:created_at" json:"created_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at" json:"updated_at"`
	DoneAt         *time.Time `gorm:"column:done_at" json:"done_at,omitempty"`
}

// TableName maps MediaJob to its table.
func (MediaJob) TableName() string { return "media_jobs" }

// MediaOutcome is the end of one attempt at a leased media job.
type MediaOutcome struct {
	ID       uint64
	State    string // MediaDone, MediaPending (retry at Next), MediaExpired or MediaFailed
	SHA256   string // done: the stored file
	Size     int64  // done
	MimeType string // done
	Error    string // the reason (retry, expired, failed)
	Next     time.Time
}
