package pool

import (
	"testing"
	"time"
)

func TestMediaQuotasPerKindAndDay(t *testing.T) {
	var q mediaQuotas
	day1 := time.Date(2026, 3, 1, 23, 0, 0, 0, time.Local)
	img := MediaLimits{Daily: 2, Cooldown: time.Hour}
	q.count(1, MediaImage, day1)
	if why, _ := q.blocked(1, MediaImage, img, day1); why != "" {
		t.Fatalf("blocked after 1 of 2: %s", why)
	}
	q.count(1, MediaImage, day1)
	why, until := q.blocked(1, MediaImage, img, day1)
	if why == "" || !until.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.Local)) {
		t.Fatalf("after 2 of 2: %q until %v", why, until)
	}
	if why, _ := q.blocked(1, MediaText, MediaLimits{}, day1); why != "" {
		t.Errorf("text blocked by the image quota: %s", why)
	}
	if why, _ := q.blocked(2, MediaImage, img, day1); why != "" {
		t.Errorf("another account blocked: %s", why)
	}
	// A new day: counts start again, cooldowns keep running.
	q.count(1, MediaText, day1)
	q.cool(1, MediaVideo, day1, day1.Add(3*time.Hour), "video quota")
	if v := q.view(1, Config{}, day1); v[MediaImage].Used != 2 || v[MediaText].Used != 1 {
		t.Errorf("a cooldown into the next day reset today's counts: %+v", v)
	}
	day2 := day1.Add(2 * time.Hour)
	if why, _ := q.blocked(1, MediaImage, img, day2); why != "" {
		t.Errorf("image still blocked the next day: %s", why)
	}
	if why, _ := q.blocked(1, MediaVideo, MediaLimits{}, day2); why != "video quota" {
		t.Errorf("video cooldown lost at midnight: %q", why)
	}
	v := q.view(1, Config{Image: img}, day2)
	if len(v) != 3 || v[MediaImage].Used != 0 || v[MediaImage].Limit != 2 || v[MediaVideo].CooldownRemaining != time.Hour || v[MediaVideo].Available() {
		t.Errorf("view %+v", v)
	}
}
