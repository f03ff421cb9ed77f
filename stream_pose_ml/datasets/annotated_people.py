"""Annotations that name a person: the sequences of the people an annotation file labels.

An entry with a track id (``annotation_fields.track_id``) labels that person of
``<video>.people.npz`` (`tracking.People`, written by the extraction job with ``num_poses`` >
1); an entry without one labels ``<video>.npz``, the video's subject. Each person labelled
becomes one sequence of the dataset, with video id ``<video>_person-<id>`` (the subject keeps
``<video>``), so that its windows never mix two people.
"""

from __future__ import annotations

from pathlib import Path

from stream_pose_ml.datasets.annotations import (
    NO_TRACK,
    AnnotationFile,
    AnnotationProblem,
    report_problem,
)
from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking.people import PEOPLE_FILE_SUFFIX, People


def person_video_id(video_id: str, track_id: int) -> str:
    """The dataset's video id of one person of a video."""
    return f"{video_id}_person-{track_id}"


def people_path(sequence_path: Path, video_id: str) -> Path:
    """``<video>.people.npz`` beside the video's sequence file."""
    return sequence_path.with_name(f"{video_id}{PEOPLE_FILE_SUFFIX}")


def try_load_people(path: Path | None) -> People | PoseDataError | None:
    """The people of ``path`` (None: not needed or no such file), or why they are unreadable."""
    if path is None or not path.is_file():
        return None
    try:
        return People.from_npz(path)
    except PoseDataError as exc:
        return exc


def needs_people(annotation: AnnotationFile) -> bool:
    return any(track != NO_TRACK for track in annotation.tracks)


def labelled_people(
    annotation: AnnotationFile,
    video_id: str,
    subject: PoseSequence,
    people: People | PoseDataError | None,
    people_file: Path,
    problems: list[AnnotationProblem],
    strict: bool,
) -> list[tuple[str, PoseSequence, AnnotationFile]]:
    """``(video id, sequence, its entries)`` per person ``annotation`` labels: the subject
    for entries naming no track, else the named track of ``people`` (read from
    ``people_file``). Entries naming a track that is not there are reported and left out."""
    if not needs_people(annotation):
        return [(video_id, subject, annotation)]
    chosen = []
    for track in annotation.tracks:
        entries = annotation.for_track(track)
        if track == NO_TRACK:
            chosen.append((video_id, subject, entries))
            continue
        if isinstance(people, People) and track in people:
            chosen.append((person_video_id(video_id, track), people[track], entries))
            continue
        if people is None:
            message = (
                f"track id {track} of video {video_id!r}: there is no people file "
                f"{people_file.name} in {people_file.parent} (extract the video with "
                "--num-poses 2 or more)"
            )
        elif isinstance(people, PoseDataError):
            message = f"track id {track} of video {video_id!r}: {people}"
        else:
            message = (
                f"track id {track} is not a person of video {video_id!r}; "
                f"{people_file.name} holds track ids {people.ids}"
            )
        for entry in entries.entry.tolist():
            report_problem(AnnotationProblem(annotation.path, message, entry), problems, strict)
    return chosen
