"Your own images: the `folder` and `csv` datasets through `load_dataset`, a recipe, the CLI's `train` and `compare`, and the errors a user meets first."
import json, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from imbalance_course.data import INTERPOLATIONS, load_csv, load_dataset, load_folder
from test_cli import run

CLASSES = ('benign', 'malignant')


def _image(rng, k, rgb=False, shape=(30, 40)):
    "A noisy image whose brightness tells its class `k`: a learnable toy, of a size that is not square."
    g = np.clip(rng.normal(90 + 80 * k, 25, shape), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([g, g // 2, 255 - g], -1) if rgb else g)


def make_tree(root, n=(12, 4, 6), rgb=False, seed=0, val=True):
    "ROOT/train|val|test/<class>/*.png with n images per class and split."
    rng = np.random.default_rng(seed)
    for s, k_n in zip(('train', 'val', 'test'), n):
        if s == 'val' and not val: continue
        for k, c in enumerate(CLASSES):
            (root/s/c).mkdir(parents=True, exist_ok=True)
            for i in range(k_n): _image(rng, k, rgb).save(root/s/c/f'{i}.png')
    return root


def test_folder_classes_sizes_channels_and_cache(tmp_path):
    root = make_tree(tmp_path/'tree')
    d = load_dataset('folder', size=28, data_dir=tmp_path/'cache', root=root)
    assert (d.classes, d.pos_class, d.in_chans, d.size) == (CLASSES, 1, 1, 28)  # gray PNGs: one channel; two classes: the second is positive
    assert [len(d.train), len(d.val), len(d.test)] == [24, 8, 12]
    assert d.train.y.tolist() == [0] * 12 + [1] * 12
    assert d.train.x[d.train.y == 1].float().mean() > d.train.x[d.train.y == 0].float().mean()  # the labels follow the folders
    cache = list((tmp_path/'cache'/'image_cache').glob('*.npz'))
    assert len(cache) == 1
    mtime = cache[0].stat().st_mtime_ns
    again = load_folder(root, 28, tmp_path/'cache')
    assert (again.train.x == d.train.x).all() and cache[0].stat().st_mtime_ns == mtime  # read from the cache, not decoded again
    nn = load_folder(root, 28, tmp_path/'cache', interpolation='nearest')  # other settings: another cache file
    assert len(list((tmp_path/'cache'/'image_cache').glob('*.npz'))) == 2 and not (nn.train.x == d.train.x).all()


def test_folder_rgb_detected_and_val_split_off(tmp_path):
    root = make_tree(tmp_path/'tree', rgb=True, val=False)
    with pytest.warns(UserWarning, match='no validation split, so 3 of 24 training images became validation'):
        d = load_folder(root, 32, tmp_path/'cache', seed=1)
    assert d.in_chans == 3 and d.train.x.shape[1:] == (3, 32, 32)
    assert np.bincount(d.val.y.numpy()).tolist() == [1, 2] or np.bincount(d.val.y.numpy()).tolist() == [2, 1]  # stratified, both classes
    assert len(d.train) + len(d.val) == 24


def test_csv_with_and_without_split(tmp_path):
    root = make_tree(tmp_path/'tree')
    rows = [(str(p.relative_to(tmp_path)), p.parent.name, p.parent.parent.name) for p in sorted(root.rglob('*.png'))]
    pd.DataFrame(rows, columns=['Image', 'label', 'split']).to_csv(tmp_path/'labels.csv', index=False)
    d = load_dataset('csv', size=28, data_dir=tmp_path/'cache', root=tmp_path/'labels.csv')
    f = load_folder(root, 28, tmp_path/'cache')
    assert d.classes == CLASSES and [len(d.train), len(d.val), len(d.test)] == [24, 8, 12]
    for s in ('train', 'val', 'test'):  # the same images as the folder loader reads
        assert sorted(getattr(d, s).x.sum((1, 2, 3)).tolist()) == sorted(getattr(f, s).x.sum((1, 2, 3)).tolist())
    pd.DataFrame(rows, columns=['path', 'class', 'split']).drop(columns='split').to_csv(tmp_path/'nosplit.csv', index=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); n = load_csv(tmp_path/'nosplit.csv', 28, tmp_path/'cache')
    said = [str(x.message) for x in w]
    assert any('has no split column, so 9 of 44 images became test' in m for m in said), said
    assert any('no validation split, so 4 of 35 training images became validation' in m for m in said), said
    assert len(n.test) == 9 and len(n.train) + len(n.val) == 35 and set(n.test.y.tolist()) == {0, 1}


def test_csv_numeric_labels_sort_as_numbers(tmp_path):
    rng, rows = np.random.default_rng(0), []
    for k in (2, 10, 1):
        for i, s in enumerate(['train'] * 3 + ['val', 'test']):
            p = tmp_path/f'{k}_{i}.png'; _image(rng, k % 2).save(p); rows.append((p.name, str(k), s))
    pd.DataFrame(rows, columns=['file', 'target', 'split']).to_csv(tmp_path/'grades.csv', index=False)
    d = load_csv(tmp_path/'grades.csv', 16, tmp_path/'cache')
    assert d.classes == ('1', '2', '10') and d.pos_class is None  # 10 after 2; three classes: no positive class


def bad(tmp_path, edit):
    "A copy of a good CSV with `edit` applied to its table."
    root = make_tree(tmp_path/'tree')
    df = pd.DataFrame([(str(p.relative_to(tmp_path)), p.parent.name, p.parent.parent.name) for p in sorted(root.rglob('*.png'))],
                      columns=['path', 'label', 'split'])
    df = edit(df)
    df.to_csv(tmp_path/'bad.csv', index=False)
    return tmp_path/'bad.csv'


def edit_row(i, col, v):
    def f(df): df.loc[i, col] = v; return df
    return f


@pytest.mark.parametrize('edit, err, msg', [
    (edit_row(4, 'path', 'tree/train/benign/nope.png'), FileNotFoundError, "line 6 of bad.csv names 'tree/train/benign/nope.png', which is not a file"),
    (edit_row(4, 'split', 'holdout'), ValueError, "line 6 of bad.csv has split 'holdout'; use train, val or test"),
    (edit_row(4, 'label', ''), ValueError, 'line 6 of bad.csv has no label'),
    (lambda df: df.rename(columns={'path': 'img'}), ValueError, "name its image column one of ['image', 'path', 'file', 'filename']"),
    (lambda df: df[~((df.split == 'test') & (df.label == 'malignant'))], ValueError, "the test split has no images of class(es) ['malignant']"),
    (lambda df: df[df.split != 'test'], ValueError, 'names no test images'),
    (lambda df: df.assign(label='benign'), ValueError, "has one label ('benign')"),
])
def test_csv_errors_name_the_line_and_the_way_out(tmp_path, edit, err, msg):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(err, match=None) as e: load_csv(bad(tmp_path, edit), 28, tmp_path/'cache')
    assert msg in str(e.value), str(e.value)
    assert not (tmp_path/'cache'/'image_cache').exists() or not list((tmp_path/'cache'/'image_cache').glob('*.part'))  # nothing half-written


def test_not_an_image_and_bad_settings(tmp_path):
    root = make_tree(tmp_path/'tree')
    (root/'train'/'benign'/'notes.png').write_text('these are notes, not pixels')
    with pytest.raises(ValueError, match=r'notes.png is not an image PIL can read'): load_folder(root, 28, tmp_path/'cache')
    (root/'train'/'benign'/'notes.png').unlink()
    with pytest.raises(ValueError, match=f"interpolation 'cubic' is unknown; choose one of {', '.join(INTERPOLATIONS)}"):
        load_folder(root, 28, tmp_path/'cache', interpolation='cubic')
    (root/'test'/'extra').mkdir()
    with pytest.raises(ValueError, match=r"test/ has class folder\(s\) \['extra'\] that the classes \['benign', 'malignant'\] lack"):
        load_folder(root, 28, tmp_path/'cache')
    with pytest.raises(ValueError, match='folder needs root='): load_dataset('folder')
    with pytest.raises(FileNotFoundError, match='is not a folder'): load_folder(tmp_path/'nowhere')


def test_cli_trains_and_compares_on_a_folder(tmp_path):
    root = make_tree(tmp_path/'tree', n=(70, 10, 10))  # 140 training images: more than the default batch of 128
    r = run('train', '--dataset', 'folder', '--root', root, '--size', 16, '--epochs', 3, '--bs', 32, '--out', tmp_path/'run', '--quiet', '--data-dir', tmp_path/'cache')
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert res['dataset'] == 'folder' and res['root'] == str(root) and res['test']['n'] == 20
    assert res['test']['auc'] > 0.9  # brightness tells the class: a few epochs learn it
    r = run('compare', '--datasets', 'folder', '--root', root, '--size', 16, '--epochs', 1, '--seeds', 0, 1, '--store', tmp_path/'store',
            '--out', tmp_path/'results', '--quiet', '--data-dir', tmp_path/'cache')
    assert r.returncode == 0, r.stderr
    runs = pd.read_csv(tmp_path/'results'/'runs.csv')
    assert runs.dataset.tolist() == ['folder', 'folder'] and runs.seed.tolist() == [0, 1]
