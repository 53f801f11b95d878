package server

import (
	"context"
	"time"

	"coexhistory/internal/media"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// initMedia opens the media storage (COEX_MEDIA_URL) and builds the download worker. The
// worker waits for webhooks being received before each claim (yield), like ingest, and runs
// at most COEX_MEDIA_WORKERS downloads at once.
func (s *Services) initMedia(yield func(context.Context)) error {
	st, err := media.OpenStorage(context.Background(), s.Config.Media.URL)
	if err != nil {
		return err
	}
	s.MediaStorage = st
	dl := media.NewDownloader(media.DownloaderConfig{
		Storage:        st,
		GraphBaseURL:   s.Config.GraphBaseURL,
		GraphVersion:   s.Config.GraphAPIVersion,
		PositusBaseURL: s.Config.PositusBaseURL,
		DownloadHosts:  s.Config.Media.DownloadHosts,
	})
	s.Media = media.NewWorker(s.DB, media.SourceFunc(s.mediaSource), dl, s.Logger.With("component", "media"),
		media.WorkerOptions{Concurrency: s.Config.Media.Workers, Yield: yield, Now: s.Now})
	return nil
}

// mediaSource gives the provider and the opened token of a number.
func (s *Services) mediaSource(ctx context.Context, pnid string) (media.Source, error) {
	n, err := s.DB.NumberWithToken(ctx, pnid)
	if err != nil {
		return media.Source{}, err
	}
	token, err := s.Registry.AccessToken(ctx, pnid)
	if err != nil {
		return media.Source{}, err
	}
	p := media.ProviderMeta
	if n.Provider == models.ProviderPositus {
		p = media.ProviderPositus
	}
	return media.Source{Provider: p, ProviderNumberID: n.ProviderNumberID, Token: token}, nil
}

// purgeMedia deletes, every hour, the files of messages older than COEX_MEDIA_RETENTION.
func (s *Services) purgeMedia(ctx context.Context) error {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			orphans, n, err := s.DB.PurgeMedia(ctx, s.Now().Add(-s.Config.Media.Retention), 500)
			if err != nil {
				s.Logger.Warn("media not purged", "err", err)
				break
			}
			for _, sum := range orphans {
				if err := s.MediaStorage.Delete(ctx, sum); err != nil {
					s.Logger.Warn("media file not deleted", "sha256", sum, "err", err)
				}
			}
			if n > 0 {
				s.Logger.Info("media purged", "jobs", n, "files", len(orphans))
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// mediaService serves the handlers the stored media: jobs from the database, files from
// the storage.
type mediaService struct {
	*store.DB
	files *media.Storage
}

func (m mediaService) OpenMedia(ctx context.Context, sum string) (*media.Object, error) {
	return m.files.Open(ctx, sum)
}
