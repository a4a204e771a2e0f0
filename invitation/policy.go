package invitation

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/internal/email"
	"github.com/invitekit/invitekit/store"
)

// The domain policy and the role rules are the organization's, not one
// kind of invitation's: join links (package link) apply them through the
// methods below, so an invitation and a link of one organization can never
// disagree on who may join or what a role ID means.

// policyOf returns the domain policy of orgID, lowercased, nil for any
// domain.
func (s *Service) policyOf(ctx context.Context, orgID uuid.UUID) ([]string, error) {
	if s.domains == nil {
		return nil, nil
	}
	ds, err := s.domains(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("domain policy: %w", err)
	}
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, strings.ToLower(strings.TrimSpace(d)))
	}
	return out, nil
}

// DomainPolicy returns the email domains orgID takes members from, as
// Config.AllowedDomains gives them (trimmed, lowercased), or nil when it
// takes any domain. It fails with the error of Config.AllowedDomains,
// wrapped.
func (s *Service) DomainPolicy(ctx context.Context, orgID uuid.UUID) ([]string, error) {
	p, err := s.policyOf(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("invitation: %w", err)
	}
	if len(p) == 0 {
		return nil, nil
	}
	return p, nil
}

// AssignRoles returns the deprecated role and the roles that role and ids
// assign in orgID, by the rules of CreateParams, as Create resolves them:
// the same validation (a *store.ValidationError naming FieldRole or
// FieldAssignedRoleIDs entries), the same role catalog and the same
// snapshot. Join links assign roles this way.
func (s *Service) AssignRoles(ctx context.Context, orgID uuid.UUID, role string, ids []uuid.UUID) (string, []Role, error) {
	var verr store.ValidationError
	s.checkRoles(&verr, role, ids)
	if err := verr.Err(); err != nil {
		return "", nil, err
	}
	return s.assign(ctx, CreateParams{OrganizationID: orgID, Role: role, AssignedRoleIDs: ids})
}

// NormalizeDomain returns the email domain d as the service compares
// domains: trimmed and lowercased, checked as the domain of an address
// under the service's EmailPolicy. Its error says, for a person, what is
// wrong with d.
func (s *Service) NormalizeDomain(d string) (string, error) {
	return email.NormalizeDomain(d, s.emailPolicy)
}
