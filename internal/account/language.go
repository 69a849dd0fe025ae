package account

import (
	"context"

	"twostep/internal/i18n"
	"twostep/internal/store"
)

// SetLanguage saves the language userID chose from the pages' menu (a tag
// the site has, or "" to follow the browser again): their pages, e-mails,
// texts and calls use it from now on.
func (s *Service) SetLanguage(ctx context.Context, userID, lang string) error {
	return s.db.SetLanguage(ctx, userID, lang)
}

// Messages are the site's words in every language.
func (s *Service) Messages() *i18n.Catalogue { return s.msgs }

// speaking is the language of what is sent to u: the one u chose, else
// the site's default (a message has no browser to ask).
func (s *Service) speaking(u store.User) *i18n.Localizer { return s.msgs.Saved(u.Language) }
