"""stream-infer's quick start, unchanged but for the import and the algorithm.

The head detector (a ModelScope model) is replaced by a pose detector whose result has the same
shape (``boxes`` and ``labels``), so ``draw_boxes`` and the rest run as documented. Set
``video_path`` to a video and ``OFFLINE`` to choose the mode; it shows a window (needs a
display).
"""

# The documented code is kept as written (its style included): no lint, no formatting.
# ruff: noqa
# fmt: off
from stream_pose_ml.stream import Inference, Dispatcher, DispatcherManager, Player
from stream_pose_ml.stream.algo import BaseAlgo
from stream_pose_ml.stream.producer import PyAVProducer, OpenCVProducer
from stream_pose_ml.stream.log import logger

import cv2
import numpy as np
from stream_pose_ml.extraction.pose_estimator import PoseEstimator

INFER_FRAME_WIDTH = 1920
INFER_FRAME_HEIGHT = 1080
PLAY_FPS = 30
OFFLINE = True


class PoseDetectionAlgo(BaseAlgo):
    def init(self):
        self.pose = PoseEstimator(complexity="full", running_mode="image")

    def run(self, frames):
        logger.debug(f"{self.name} starts running with {len(frames)} frames")
        try:
            frame = frames[-1]
            landmarks = self.pose.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if landmarks is None:
                return {"scores": [], "boxes": [], "labels": []}
            height, width = frame.shape[:2]
            x, y = landmarks[:, 0] * width, landmarks[:, 1] * height
            box = [float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))]
            result = {"scores": [float(np.mean(landmarks[:, 3]))], "boxes": [box], "labels": ["person"]}
            logger.debug(f"{self.name} inference finished: {result}")
            return result
        except Exception as e:
            logger.error(e)
            return None


class SelfDispatcher(Dispatcher):
    def get_result(self, name):
        if self.collect_results.get(name):
            return self.collect_results[name]
        return None

    def get_last_result(self, name):
        algo_results = self.get_result(name)
        if algo_results is not None and len(algo_results.keys()) > 0:
            return algo_results[(str(max([int(k) for k in algo_results.keys()])))]
        return None


def draw_boxes(frame, data):
    for box, label in zip(data["boxes"], data["labels"]):
        start_point = (int(box[0]), int(box[1]))
        end_point = (int(box[2]), int(box[3]))
        color = (255, 0, 0)
        thickness = 2
        cv2.rectangle(frame, start_point, end_point, color, thickness)

        font = cv2.FONT_HERSHEY_SIMPLEX
        org = (start_point[0], start_point[1] - 10)
        font_scale = 0.5
        font_color = (0, 255, 0)
        line_type = 2
        cv2.putText(frame, label, org, font, font_scale, font_color, line_type)


if __name__ == "__main__":
    producer = OpenCVProducer(INFER_FRAME_WIDTH, INFER_FRAME_HEIGHT)
    video_path = "/path/to/your/video.mp4"
    max_size = 150
    dispatcher = (
        SelfDispatcher(max_size)
        if OFFLINE
        else DispatcherManager(SelfDispatcher).create(max_size)
    )

    inference = Inference(dispatcher)
    inference.load_algo(
        PoseDetectionAlgo(), frame_count=1, frame_step=PLAY_FPS, interval=1
    )

    player = Player(dispatcher, producer, path=video_path)
    if OFFLINE:
        for frame, current_frame in player.play(PLAY_FPS):
            current_algo_name = inference.auto_run_specific(
                player.play_fps, current_frame
            )
            # 其它操作，比如绘制结果窗口
            data = dispatcher.get_last_result(PoseDetectionAlgo.__name__)
            if data is None:
                continue

            draw_boxes(frame, data)
            cv2.namedWindow("Inference", cv2.WINDOW_NORMAL)
            cv2.imshow("Inference", frame)
            cv2.waitKey(1)
        cv2.destroyAllWindows()
    else:
        player.play_async(PLAY_FPS)
        inference.run_async()
        while player.is_active():
            pass
        inference.stop()
        player.stop()
