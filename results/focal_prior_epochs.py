"Copy the first two epochs (training loss, validation AUC) of every run listed in results/focal_prior_*/runs.csv from the run store (runs/store) into results/focal_prior_*/epochs.csv. Run from the repository root after lesson 06's focal_prior grid."
import json
from pathlib import Path
import pandas as pd
for folder in ('focal_prior_pn10', 'focal_prior_br'):
    rows = []
    for r in pd.read_csv(f'results/{folder}/runs.csv').itertuples():
        run = next(Path('runs/store').glob(f'*-s{r.seed}-{r.key}'))
        for h in json.loads((run/'metrics.json').read_text())['history'][:2]:
            rows.append({'recipe': r.recipe, 'seed': r.seed, 'epoch': h['epoch'], 'train_loss': h['train_loss'], 'val_auc': h['val_auc']})
    pd.DataFrame(rows).to_csv(f'results/{folder}/epochs.csv', index=False)
    print(folder, len(rows))
