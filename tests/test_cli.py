"End-to-end checks of the installed `imbalance-course` command."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

KEYS = {'auc', 'pr_auc', 'accuracy', 'balanced_accuracy', 'sensitivity', 'specificity', 'f1', 'spec_at_sens90'}


def cli(*args, data_dir=None, cwd=None):
    exe = shutil.which('imbalance-course')
    assert exe, 'the imbalance-course console script is not installed: pip install -e ".[dev]"'
    env = {**os.environ, **({'IMBALANCE_COURSE_DATA': str(data_dir)} if data_dir else {})}
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


def test_datasets_lists_names_and_cache(data_dir):
    r = cli('datasets', data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    lines = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    assert set(lines) == {'pneumoniamnist', 'breastmnist', 'dermamnist', 'chestxray_folder', 'synthetic'}
    assert ' 28 ' in lines['pneumoniamnist'] + ' '


def test_train_synthetic_writes_metrics_and_checkpoint(tmp_path):
    out = tmp_path/'run'
    r = cli('train', '--dataset', 'synthetic', '--epochs', '1', '--seed', '0', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    m = json.loads((out/'metrics.json').read_text())
    assert KEYS <= set(m['val']) and KEYS <= set(m['test']) and 0 < m['threshold'] < 1 and m['seconds'] > 0
    assert {'best.pt', 'last.pt', 'config.json', 'metrics.json'} == {p.name for p in out.iterdir()}
    assert 'spec_at_sens90' in r.stdout and 'test' in r.stdout


def test_bad_dataset_one_line_error_and_nothing_written(tmp_path):
    r = cli('train', '--dataset', 'pneumonia', '--out', tmp_path/'run')
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert "dataset 'pneumonia' is unknown; choose one of:" in r.stderr
    assert not (tmp_path/'run').exists()


def test_missing_data_offline_error(tmp_path):
    r = cli('--data-dir', tmp_path/'empty', 'train', '--dataset', 'breastmnist', '--no-download', '--out', tmp_path/'run')
    assert r.returncode == 2 and 'breastmnist.npz' in r.stderr and 'IMBALANCE_COURSE_DATA' in r.stderr, r.stderr
    assert 'https://' in r.stderr and str(tmp_path/'empty') in r.stderr
    assert not (tmp_path/'run').exists() and not list((tmp_path/'empty').glob('*.npz'))


def test_other_config_in_same_out_is_refused(tmp_path):
    out = tmp_path/'run'
    assert cli('train', '--dataset', 'synthetic', '--epochs', '1', '--out', out, '--quiet').returncode == 0
    r = cli('train', '--dataset', 'synthetic', '--epochs', '1', '--seed', '1', '--out', out, '--quiet')
    assert r.returncode == 2 and 'seed: 0 vs 1' in r.stderr and '--no-resume' in r.stderr


def test_baseline_quality(tmp_path, data_dir):
    "The main job: 10 epochs of ResNet18 on the real PneumoniaMNIST reach test AUC >= 0.95 (quality, not time)."
    out = tmp_path/'baseline'
    r = cli('train', '--dataset', 'pneumoniamnist', '--epochs', '10', '--seed', '0', '--out', out, '--quiet', data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    m = json.loads((out/'metrics.json').read_text())
    print(f"baseline: test AUC {m['test']['auc']:.4f}, spec {m['test']['specificity']:.3f}, sens {m['test']['sensitivity']:.3f}, {m['seconds']} s")
    assert m['test']['auc'] >= 0.95
    assert m['test']['specificity'] < m['test']['sensitivity']  # the minority (normal) class is the weak spot
