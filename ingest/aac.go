package ingest

import (
	"fmt"

	v1 "github.com/bluenviron/mediacommon/pkg/codecs/mpeg4audio"
	v2 "github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// aacConfigV1 converts gortmplib's AAC config (mediacommon v2) to the one
// gohlslib v2.1.0 still takes (mediacommon v1) through its encoded form,
// the AudioSpecificConfig bytes, which both versions read and write the
// same way.
func aacConfigV1(c *v2.AudioSpecificConfig) (v1.Config, error) {
	var out v1.Config
	if c == nil {
		return out, fmt.Errorf("ingest: AAC track without config")
	}
	raw, err := c.Marshal()
	if err != nil {
		return out, fmt.Errorf("ingest: AAC config: %w", err)
	}
	if err := out.Unmarshal(raw); err != nil {
		return out, fmt.Errorf("ingest: AAC config: %w", err)
	}
	return out, nil
}
