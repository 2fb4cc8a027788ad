-- 0005: open channels (chat.Channel.Open): a public broadcast channel where
-- anyone who may read it may also publish, members or not. New channels are
-- closed unless created open; the live rooms that core/live created before
-- (public broadcast channels live-<stream>) are opened, as it now creates
-- them, so that their viewers can chat after the upgrade.

ALTER TABLE channels ADD COLUMN open boolean NOT NULL DEFAULT false;

UPDATE channels SET open = true WHERE kind = 'broadcast' AND public AND id LIKE 'live-%';
