-- The language a person chose from the pages' menu (a BCP 47 tag such as
-- "de" or "pt-BR"): their pages, e-mails, texts and calls use it. Empty
-- until they choose, when the browser's Accept-Language decides.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
