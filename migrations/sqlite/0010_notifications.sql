-- Notifications (issue 11): what Convoy tells the people of a component, derived from the
-- release event log and delivered by the worker. This is an outbox: a state change never waits
-- on a channel, and a channel that is down delays only its own rows.
-- Why the owners must act on a component's state change, as the component machine said:
-- 'failed' or 'pipeline_failed' (NULL: nobody is asked).
ALTER TABLE release_events ADD COLUMN mention TEXT;

CREATE TABLE notifications (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id         INTEGER NOT NULL REFERENCES main_releases (id),
    component_id       INTEGER REFERENCES component_releases (id),
    -- where it goes: 'merge_request_note', 'chat' or 'webhook' (then target is its URL)
    channel            TEXT    NOT NULL,
    target             TEXT,
    -- 'status' (one per component, edited in place) or a mention: 'failed', 'pipeline_failed',
    -- 'review' (a new message naming the owners, once per event), or 'event' (a webhook)
    kind               TEXT    NOT NULL,
    -- one row per thing to tell: 'status:<component id>', 'mention:<event id>',
    -- 'chat:status:<release id>', 'chat:mention:<event id>', 'webhook:<event id>:<url>'
    dedupe_key         TEXT    NOT NULL UNIQUE,
    -- the newest event it tells of, and the newest one delivered (0: nothing yet): the row is
    -- due while delivered_event_id < event_id
    event_id           INTEGER NOT NULL,
    delivered_event_id INTEGER NOT NULL DEFAULT 0,
    -- the message's id at the channel (a note id), recorded before it is ever edited
    external_id        TEXT,
    -- the text last delivered
    body               TEXT,
    -- failed deliveries in a row, the last one's sentence, and when to try again
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    next_attempt_ms    INTEGER NOT NULL DEFAULT 0,
    -- how many times a worker set out to create the message: once it did, the message may
    -- exist without its id recorded (the worker died in between), and is looked for first
    writes             INTEGER NOT NULL DEFAULT 0,
    -- one worker at a time delivers a row
    claimed_by         TEXT,
    claimed_until_ms   INTEGER,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    delivered_at       TEXT
);

CREATE INDEX notifications_due ON notifications (next_attempt_ms) WHERE delivered_event_id < event_id;
CREATE INDEX notifications_by_release ON notifications (release_id, id);

-- How far the event log has been read for notifications. Starts at the end of the log: a
-- database from before this migration tells nothing of its past.
CREATE TABLE notification_cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL
);
INSERT INTO notification_cursor (id, last_event_id)
    SELECT 1, COALESCE(MAX(id), 0) FROM release_events;
