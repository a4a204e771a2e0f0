package invitation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/store"
)

// An organization's domain policy refuses, field by field, the emails of
// other domains, on Create and on each CreateMany item; the policy is
// asked once a call.
func TestDomainPolicy(t *testing.T) {
	asked := 0
	f := newFixture(t, func(c *invitation.Config) {
		c.AllowedDomains = func(_ context.Context, o uuid.UUID) ([]string, error) {
			asked++
			if o != org {
				return nil, nil
			}
			return []string{" Example.COM "}, nil
		}
	})
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.org", Role: "admin"})
	var verr *store.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []store.FieldError{{Field: invitation.FieldEmail, Message: "must have a domain the organization's domain policy allows"}}, verr.Fields)
	_, err = f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@sub.example.com", Role: "admin"})
	assert.ErrorAs(t, err, &verr, "a subdomain is another domain")
	_, err = f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "A@Example.com", Role: "admin"})
	assert.NoError(t, err)
	_, err = f.svc.Create(ctx, invitation.CreateParams{OrganizationID: uuid.New(), Email: "a@example.org", Role: "admin"})
	assert.NoError(t, err, "the policy is the organization's")

	asked = 0
	res, err := f.svc.CreateMany(ctx, org, []invitation.CreateParams{
		{Email: "b@example.com", Role: "admin"}, {Email: "b@example.net", Role: "admin"},
	})
	require.NoError(t, err)
	assert.NoError(t, res[0].Err)
	assert.ErrorAs(t, res[1].Err, &verr)
	assert.Equal(t, 1, asked, "one question per batch")

	policy, err := f.svc.DomainPolicy(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com"}, policy)
	policy, err = f.svc.DomainPolicy(ctx, uuid.New())
	require.NoError(t, err)
	assert.Nil(t, policy)
}

// The policy's error fails the call, and nothing is created.
func TestDomainPolicyFailure(t *testing.T) {
	down := errors.New("directory down")
	f := newFixture(t, func(c *invitation.Config) {
		c.AllowedDomains = func(context.Context, uuid.UUID) ([]string, error) { return nil, down }
	})
	_, err := f.svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: "a@example.com", Role: "admin"})
	assert.ErrorIs(t, err, down)
	_, err = f.svc.CreateMany(ctx, org, []invitation.CreateParams{{Email: "a@example.com", Role: "admin"}})
	assert.ErrorIs(t, err, down)
	page, err := f.svc.List(ctx, org, invitation.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, page.Invitations)
}

func TestAssignRolesAndDomains(t *testing.T) {
	f := newFixture(t)
	role, roles, err := f.svc.AssignRoles(ctx, org, "", []uuid.UUID{invitation.DeveloperRoleID, invitation.DeveloperRoleID})
	require.NoError(t, err)
	assert.Equal(t, "developer", role)
	assert.Equal(t, invitation.LegacyAssignedRoles("developer"), roles)
	_, _, err = f.svc.AssignRoles(ctx, org, "", nil)
	var verr *store.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, invitation.FieldRole, verr.Fields[0].Field)

	d, err := f.svc.NormalizeDomain(" Example.COM ")
	require.NoError(t, err)
	assert.Equal(t, "example.com", d)
	for _, bad := range []string{"", "a@example.com", "localhost", "intranet", "exa mple.com", "[192.0.2.1]", "bücher.example"} {
		_, err := f.svc.NormalizeDomain(bad)
		assert.Error(t, err, bad)
	}
}
