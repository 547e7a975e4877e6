"""Dataset contract (SPEC §2): pydantic models, a streaming loader and `validate-dataset`.

    from trendflow.dataset import DatasetReader, validate_dataset
"""

from trendflow.dataset.errors import DatasetError
from trendflow.dataset.loader import PROBLEM_CODES, DatasetReader, Problem, ScanReport, VideoRecord
from trendflow.dataset.models import Comment, SnapshotFolderInfo, VideoMetadata, VideoSnapshot
from trendflow.dataset.validate import ValidationReport, validate_dataset

__all__ = ["PROBLEM_CODES", "Comment", "DatasetError", "DatasetReader", "Problem", "ScanReport", "SnapshotFolderInfo",
           "ValidationReport", "VideoMetadata", "VideoRecord", "VideoSnapshot", "validate_dataset"]
