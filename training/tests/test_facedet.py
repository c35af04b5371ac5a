"""Smoke tests of the stylised-face detector's toolchain: frames and their targets, a seconds-long training, the
export read back by training/blazeface.py. Never a real training."""

import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.dirname(HERE)
sys.path.insert(0, MODEL)

import blazeface  # noqa: E402
import facedet_data as fd  # noqa: E402
import train_facedet as tf  # noqa: E402


def run(*args):
    subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)


class FaceDetectorToolchainTests(unittest.TestCase):
    def test_render_keypoints_are_where_the_renderer_drew_the_face(self):
        rd = fd.render_character(3_999_999, 40, 0.6, 10.0, (0.05, 0.0), 128)
        left, right, nose, mouth = rd.keypoints[:4]
        self.assertLess(left[0], right[0])
        self.assertGreater(mouth[1], nose[1])
        self.assertGreater(nose[1], (left[1] + right[1]) / 2)
        # The figure's silhouette covers the face.
        for x, y in rd.keypoints[:4]:
            self.assertGreater(rd.alpha[int(y), int(x)], 200)

    def test_targets_decode_back_to_the_faces_with_the_pipelines_decoder(self):
        renders = [fd.render_character(3_999_990 + i, 30, z, 0, (0, 0), 96) for i, z in enumerate((0.3, 0.6, 1.0))]
        backgrounds = np.stack([fd.background(3_999_980 + i, 96) for i in range(2)])
        layers = [{"cells": c, "anchorsPerCell": p} for c, p in zip(tf.CELLS, tf.PER_CELL)]
        r = random.Random(0)
        faces = 0
        for k in range(30):
            frame = fd.natural_frame(renders[k % 3], r)
            frame = fd.flip(frame) if k % 2 else frame
            labels, reg = tf.targets(frame)
            dets = blazeface.decode(np.where(labels > 0.5, 10.0, -10.0), reg, layers, tf.SCALE, 0.5, 0.3)
            self.assertEqual(len(frame.faces), len(dets))
            for (kp, _), det in zip(frame.faces, dets):
                np.testing.assert_allclose(np.array(det["keypoints"]) * fd.INPUT, kp, atol=1e-3)
                self.assertLess(kp[0][0], kp[1][0], "the subject's right eye is the one on the picture's left")
                faces += 1
        self.assertGreater(faces, 10)
        stack = {key: np.stack([getattr(x, key) for x in renders]) for key in ("rgb", "alpha", "keypoints")}
        empty = fd.composite_frame(stack, backgrounds, r, 0)
        self.assertEqual(([], []), (empty.faces, empty.ignore))
        self.assertFalse((tf.targets(empty)[0] != 0).any())

    def test_render_train_export_and_read_back(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(MODEL, "facedet_data.py")
            run(data, "renders", "--out", tmp + "/train", "--first", "3999900", "--count", "8", "--chunk", "4",
                "--size", "96")
            run(data, "backgrounds", "--out", tmp + "/bg", "--first", "3999950", "--count", "4", "--size", "96")
            trainer = os.path.join(MODEL, "train_facedet.py")
            run(trainer, "train", "--out", tmp + "/run", "--renders", tmp + "/train", "--backgrounds", tmp + "/bg",
                "--minutes", "0.01", "--batch", "4", "--val-renders", "2", "--threads", "1")
            run(trainer, "export", "--run", tmp + "/run", "--out", tmp + "/models/character-face-detector/1")
            version = tmp + "/models/character-face-detector/1"
            with open(version + "/model.json") as f:
                manifest = json.load(f)
            self.assertEqual("face-detector", manifest["kind"])
            self.assertEqual(17, manifest["networks"][0]["opset"])
            self.assertNotIn("source", manifest)
            import onnx
            graph = onnx.load(version + "/character_face_detector.onnx").graph
            self.assertEqual({"Transpose", "Conv", "Relu", "Add", "Reshape"}, {n.op_type for n in graph.node})
            dims = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output}
            self.assertEqual(["N", 512, 16], dims["regressors_16"])
            self.assertEqual(["N", 384, 1], dims["scores_8"])
            # The pipeline's Python twin loads it from its manifest like BlazeFace and runs it.
            detector = blazeface.BlazeFace(version)
            self.assertIsInstance(detector.detect(np.full((100, 140, 3), 128, np.uint8)), list)


if __name__ == "__main__":
    unittest.main()
