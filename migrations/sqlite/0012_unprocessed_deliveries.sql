-- The worker's delivery loop reads the deliveries not processed yet, oldest first, after every
-- recorded delivery: a partial index keeps that read small however many deliveries were kept.
CREATE INDEX webhook_deliveries_unprocessed ON webhook_deliveries (id) WHERE processed_at IS NULL;
