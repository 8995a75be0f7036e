"""The most discussed moments (podcast:soundbite data): anchored posts grouped into
stretches of the episode, ranked by how many posts each has."""

from community.services.transcripts import SOUNDBITE_MAX, SOUNDBITE_MIN, Soundbite, rank_moments


def test_anchors_close_together_are_one_moment_and_the_busiest_comes_first():
    anchors = [(100.0, 104.0, "the curves bend"), (110.0, 112.0, "the curves bend"), (125.0, 130.0, "earlier"),
               (900.0, 905.0, "warm restarts"), (1500.0, None, "a lone remark"), (1510.0, 1520.0, "a lone remark")]
    bites = rank_moments(anchors, limit=3)
    assert bites == [Soundbite(100.0, 30.0, "the curves bend", 3), Soundbite(1500.0, 20.0, "a lone remark", 2),
                     Soundbite(900.0, SOUNDBITE_MIN, "warm restarts", 1)]


def test_a_soundbite_is_never_longer_than_podcast_soundbite_advises():
    chain = [(float(t), float(t + 5), "a long exchange") for t in range(0, 600, 20)]  # every 20 s for 10 min
    [bite] = rank_moments(chain, limit=1)
    assert bite.posts == 30 and bite.duration == SOUNDBITE_MAX and bite.start == 0.0


def test_no_anchors_no_soundbites():
    assert rank_moments([]) == [] and rank_moments([(None, None, "no time")]) == []
