package supervisor

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// compose's user: (or the image's User) goes through the image's resolver when there is one, so
// names work; without one only numeric ids do.
func TestBuildSpecUser(t *testing.T) {
	p := &Project{Name: "p"}
	r := &Replica{ID: "p-web-1.1", Slot: 1, Gen: 1}
	byName := func(u string) (specs.User, error) {
		if u == "www:staff" {
			return specs.User{UID: 33, GID: 50}, nil
		}
		return specs.User{}, errors.New("user " + u + ": no such user in the image's /etc/passwd")
	}
	for _, c := range []struct {
		svcUser, imgUser string
		resolve          func(string) (specs.User, error)
		want             specs.User
		wantErr          bool
	}{
		{svcUser: "www:staff", resolve: byName, want: specs.User{UID: 33, GID: 50}},
		{imgUser: "www:staff", resolve: byName, want: specs.User{UID: 33, GID: 50}},
		{svcUser: "ghost", imgUser: "www:staff", resolve: byName, wantErr: true}, // the service's wins
		{svcUser: "1000:1000", want: specs.User{UID: 1000, GID: 1000}},
		{svcUser: "www", wantErr: true}, // a name without a resolver
		{want: specs.User{}},
	} {
		s := &Service{Name: "web", Command: []string{"x"}, User: c.svcUser}
		sp, err := BuildSpec(baseSpec(), p, s, r, "/r", ImageConfig{User: c.imgUser, ResolveUser: c.resolve})
		if (err != nil) != c.wantErr {
			t.Errorf("user %q/%q: err %v, want error %v", c.svcUser, c.imgUser, err, c.wantErr)
			continue
		}
		if err == nil && (sp.Process.User.UID != c.want.UID || sp.Process.User.GID != c.want.GID) {
			t.Errorf("user %q/%q: got %+v, want %+v", c.svcUser, c.imgUser, sp.Process.User, c.want)
		}
	}
}
