package bus

import "testing"

func TestSubjects(t *testing.T) {
	for _, ch := range []string{"room1", "dm:alice:bob", "a", "x_y-z@w=+"} {
		if got, want := PublishSubject(ch), "salam.pub."+ch; got != want {
			t.Errorf("PublishSubject(%q) = %q, want %q", ch, got, want)
		}
		if got, want := EventSubject(ch), "salam.ev."+ch; got != want {
			t.Errorf("EventSubject(%q) = %q, want %q", ch, got, want)
		}
		if got, ok := PublishChannel(PublishSubject(ch)); !ok || got != ch {
			t.Errorf("PublishChannel(PublishSubject(%q)) = %q, %v", ch, got, ok)
		}
	}
	if PublishWildcard != "salam.pub.*" || QueueCore != "salam.core" {
		t.Errorf("PublishWildcard %q, QueueCore %q", PublishWildcard, QueueCore)
	}
}

func TestPublishChannelRejects(t *testing.T) {
	for _, s := range []string{"", "salam.pub.", "salam.ev.room", "salam.pub.a.b", "x.salam.pub.a", "salam.pubroom"} {
		if ch, ok := PublishChannel(s); ok {
			t.Errorf("PublishChannel(%q) = %q, true; want false", s, ch)
		}
	}
}
