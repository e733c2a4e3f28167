-- At most one active release per app and ref (issue 14 point 5): two active releases of one app
-- both tagged the same components and one then failed at the Podfile step. The active states are
-- those of `active_states!` in store/src/releases.rs.
--
-- A database written before this rule may already hold several active releases of one app and
-- ref: the oldest keeps going, the newer ones are failed with a reason (and an event) so that the
-- index can be built. Their worker is woken to settle what they left behind.
INSERT INTO release_events (release_id, actor, kind, from_state, to_state, reason, created_at)
SELECT m.id, 'convoy', 'state', m.state, 'failed',
       'release ' || (SELECT MIN(o.id) FROM main_releases o
                      WHERE o.app_project = m.app_project AND o.app_ref = m.app_ref
                        AND o.state IN ('created', 'analyzing', 'waiting', 'deploying'))
       || ' of the same app and ref was already active: Convoy allows one active release per '
       || 'app and ref',
       strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'
FROM main_releases m
WHERE m.state IN ('created', 'analyzing', 'waiting', 'deploying')
  AND EXISTS (SELECT 1 FROM main_releases o
              WHERE o.app_project = m.app_project AND o.app_ref = m.app_ref
                AND o.state IN ('created', 'analyzing', 'waiting', 'deploying') AND o.id < m.id);

UPDATE main_releases
SET state = 'failed',
    reason = 'release ' || (SELECT MIN(o.id) FROM main_releases o
                            WHERE o.app_project = main_releases.app_project
                              AND o.app_ref = main_releases.app_ref
                              AND o.state IN ('created', 'analyzing', 'waiting', 'deploying'))
             || ' of the same app and ref was already active: Convoy allows one active release '
             || 'per app and ref',
    updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z',
    finished_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z',
    wake_requested = 1
WHERE state IN ('created', 'analyzing', 'waiting', 'deploying')
  AND EXISTS (SELECT 1 FROM main_releases o
              WHERE o.app_project = main_releases.app_project
                AND o.app_ref = main_releases.app_ref
                AND o.state IN ('created', 'analyzing', 'waiting', 'deploying')
                AND o.id < main_releases.id);

CREATE UNIQUE INDEX main_releases_one_active_per_app_ref ON main_releases (app_project, app_ref)
WHERE state IN ('created', 'analyzing', 'waiting', 'deploying');
