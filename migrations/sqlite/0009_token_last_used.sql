-- When each personal API token was last used (to the minute), for the admins' token list.
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
