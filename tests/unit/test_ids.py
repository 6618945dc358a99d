import time
import uuid

from domain.ids import new_uuid


def test_new_uuid_is_a_uuid_of_version_7_with_the_current_time():
    before = time.time_ns() // 1_000_000
    ids = [new_uuid() for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
        assert before <= parsed.int >> 80 <= after


def test_ids_minted_in_later_milliseconds_sort_after_earlier_ones():
    first = new_uuid()
    time.sleep(0.002)
    assert new_uuid() > first


def test_the_random_bits_differ_between_ids_of_the_same_millisecond():
    ids = [new_uuid() for _ in range(1000)]
    tails = {text[14:] for text in ids}
    assert len(tails) == len(ids)
