"""Smoke tests of the model toolchain: render, train 2 steps, export, check the ONNX graph. Never a real training."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.dirname(HERE)
sys.path.insert(0, MODEL)

import onnx  # noqa: E402
from charactergen import random_identity, render  # noqa: E402


def run(*args):
    subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)


class ToolchainTests(unittest.TestCase):
    def test_same_identity_changes_with_age_and_is_deterministic(self):
        ident = random_identity(42)
        young, old = render(ident, 10, 128), render(ident, 80, 128)
        self.assertEqual(list(render(ident, 10, 128).getdata()), list(young.getdata()))
        diff = sum(abs(a - b) for pa, pb in zip(young.getdata(), old.getdata()) for a, b in zip(pa, pb))
        self.assertGreater(diff / (128 * 128 * 3), 3.0, "ageing 10 → 80 must change the picture clearly")

    def test_render_train_export_two_steps(self):
        with tempfile.TemporaryDirectory() as tmp:
            run(os.path.join(MODEL, "charactergen.py"), "--out", tmp + "/data", "--train", "3", "--heldout", "2",
                "--size", "64", "--ages", "10,40,80", "--workers", "1")
            self.assertTrue(os.path.exists(tmp + "/data/train/id000000/40.png"))
            self.assertTrue(os.path.exists(tmp + "/data/heldout/id1000000/80.png"))
            run(os.path.join(MODEL, "train.py"), "--data", tmp + "/data/train", "--out", tmp + "/run", "--size", "64",
                "--steps", "2", "--batch", "2", "--log", "1", "--sample", "2", "--save", "2", "--threads", "1")
            self.assertTrue(os.path.exists(tmp + "/run/checkpoint.pt"))
            self.assertTrue(os.path.exists(tmp + "/run/samples/step000002.png"))
            # A training-time age critic (a second estimator at the ager's resolution), then 2 more steps with it.
            run(os.path.join(MODEL, "train_estimator.py"), "--data", tmp + "/data/train", "--out", tmp + "/critic",
                "--size", "64", "--seed", "11", "--steps", "2", "--batch", "2", "--log", "1", "--threads", "1")
            run(os.path.join(MODEL, "train.py"), "--data", tmp + "/data/train", "--out", tmp + "/run", "--size", "64",
                "--steps", "4", "--batch", "2", "--log", "1", "--sample", "4", "--save", "4", "--threads", "1",
                "--age-critic", tmp + "/critic/checkpoint.pt")
            self.assertTrue(os.path.exists(tmp + "/run/samples/step000004.png"))
            out = tmp + "/models/character-ager/1"
            run(os.path.join(MODEL, "export.py"), "ager", "--checkpoint", tmp + "/run/checkpoint.pt", "--out", out)
            graph = onnx.load(out + "/model.onnx")
            self.assertGreaterEqual(graph.opset_import[0].version, 17)
            self.assertEqual([i.name for i in graph.graph.input], ["image", "target_age"])
            self.assertEqual(graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param, "batch")
            with open(out + "/model.json") as f:
                manifest = json.load(f)
            self.assertEqual(manifest["name"], "character-ager")
            self.assertEqual(manifest["input"]["height"], 64)
            self.assertEqual(len(manifest["sha256"]), 64)


if __name__ == "__main__":
    unittest.main()
