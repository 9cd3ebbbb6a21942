-- Schema version 9: each account's language for the page (issue 14, "Language").
-- * users.locale: the account's chosen language as a BCP 47 / CLDR tag ("en", "de"), or
--   NULL: follow the browser's Accept-Language (then English). Which tags the page offers
--   is the web layer's business (web/i18n.py), so a new language needs no migration; the
--   check only keeps the value tag-shaped.
ALTER TABLE users ADD COLUMN locale TEXT
    CHECK (locale IS NULL OR (length(locale) BETWEEN 2 AND 16 AND locale NOT GLOB '*[^A-Za-z_-]*'));
