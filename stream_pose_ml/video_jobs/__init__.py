"""Video analysis jobs: an uploaded video analyzed once, offline, in a worker process.

`JobStore` keeps videos (once per sha256) and job folders; `JobManager` runs queued jobs as
``python -m stream_pose_ml.video_jobs.worker <job_dir>`` processes and reads their progress;
`JobSettings` is what a job is asked to do. See notes on issue 17 and docs/stream.md.
"""

from __future__ import annotations

from stream_pose_ml.video_jobs.manager import JobManager
from stream_pose_ml.video_jobs.settings import JobSettings, analyzer_catalog
from stream_pose_ml.video_jobs.store import FILES, JobStore

__all__ = ["FILES", "JobManager", "JobSettings", "JobStore", "analyzer_catalog"]
