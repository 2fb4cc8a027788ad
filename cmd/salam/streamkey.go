package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/ingest"
	"github.com/salamhq/salam/storage/postgres"
	"github.com/salamhq/salam/storage/sqlite"
)

// cmdStreamkey issues a stream key for --user in the store salam up uses
// (--data, or --postgres) and prints two lines on stdout: the RTMP publish
// URL and the HLS playback URL.
func cmdStreamkey(args []string) error {
	fs := flag.NewFlagSet("salam streamkey", flag.ContinueOnError)
	user := fs.String("user", "", "the creator the key is for (required)")
	data := fs.String("data", envOr("SALAM_DATA", "./salam-data"), "data directory of the salam up that must accept the key")
	pg := fs.String("postgres", envOr("SALAM_POSTGRES_URL", ""), "Postgres URL, when salam runs on Postgres")
	stream := fs.String("stream", "", "playback name (1–64 of a-z 0-9 - _); default: drawn")
	record := fs.Bool("record", false, "keep the stream as a VOD after it ends")
	var ic ingest.Config
	fs.StringVar(&ic.RTMPListen, "rtmp", envOr("SALAM_RTMP_LISTEN", ""), "RTMP address of salam up (its port goes in the URL); default :1935")
	fs.StringVar(&ic.HLSListen, "hls", envOr("SALAM_HLS_LISTEN", ""), "HLS address of salam up; default :8888")
	fs.StringVar(&ic.PublicHost, "host", "", "host name in the URLs; default localhost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		return fmt.Errorf("--user is required")
	}
	ic.EnsureDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys live.KeyStore
	if *pg != "" {
		st, err := postgres.Open(ctx, *pg, postgres.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		keys = st
	} else {
		if err := os.MkdirAll(*data, 0o700); err != nil {
			return err
		}
		st, err := sqlite.Open(filepath.Join(*data, "salam.db"), sqlite.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		keys = st
	}
	var lc live.Config
	lc.EnsureDefaults()
	secret, k, err := live.IssueKey(ctx, keys, lc.MaxKeysPerUser, *user, *stream, *record, time.Now())
	if err != nil {
		return err
	}
	fmt.Println(ic.PublishBase() + "/" + secret)
	fmt.Println(ic.PlaybackBase() + "/" + k.Stream + "/index.m3u8")
	return nil
}
