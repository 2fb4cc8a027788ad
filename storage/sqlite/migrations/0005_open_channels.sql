-- Open channels (chat.Channel.Open): a public broadcast channel where anyone
-- who may read it may also publish, members or not. New channels are closed
-- (0) unless created open; the live rooms that core/live created before
-- (public broadcast channels live-<stream>) are opened, as it now creates
-- them, so that their viewers can chat after the upgrade.

ALTER TABLE channels ADD COLUMN open INTEGER NOT NULL DEFAULT 0;

-- substr rather than LIKE, which ignores case in SQLite.
UPDATE channels SET open = 1 WHERE kind = 'broadcast' AND public <> 0 AND substr(id, 1, 5) = 'live-';
