import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureRow, ModelMetadata } from '@scoreq/contracts';
import type { ModelRegistry } from '@scoreq/registry';
import { buildLogisticRegression, buildMlp, REFERENCE_MODELS, seededRandom, writeModel, type BuiltModel } from '@scoreq/onnx-builder';

/** The version every demo model is written as. */
export const DEMO_VERSION = '1';

/** A model the demo writes to disk and the rows it scores with it. */
export interface DemoModel {
  name: string;
  built: BuiltModel;
  metadata: ModelMetadata;
  /** A plausible input row, drawn from `next` (a `[0, 1)` generator). */
  sampleRow(next: () => number): FeatureRow;
}

const CHURN_FEATURES = Array.from({ length: 32 }, (_, i) => `f${String(i).padStart(2, '0')}`);

/** The reference small MLP: 32 anonymous features, two softmax classes. */
function churnModel(): DemoModel {
  return {
    name: 'churn',
    built: buildMlp(REFERENCE_MODELS.small),
    metadata: {
      description: 'Demo churn classifier: the reference small MLP [32, 64, 32, 2] with seeded random weights.',
      features: CHURN_FEATURES,
      output: { name: 'probabilities', kind: 'classification', labels: ['stay', 'churn'] },
    },
    sampleRow(next) {
      const row: FeatureRow = {};
      for (const f of CHURN_FEATURES) row[f] = Math.round((next() * 4 - 2) * 1000) / 1000;
      return row;
    },
  };
}

const EMPLOYMENT = ['salaried', 'self_employed', 'unemployed', 'retired'] as const;

/**
 * Logistic regression over 8 named features, to show what metadata does for callers:
 * raw values (income in currency, a boolean, a category string) are scaled and mapped by
 * the worker before inference, and the one-column probability becomes a label by threshold.
 */
function riskModel(): DemoModel {
  return {
    name: 'risk',
    built: buildLogisticRegression({ features: 8, seed: 7 }),
    metadata: {
      description: 'Demo credit-risk score: logistic regression over 8 applicant features with seeded random weights.',
      features: [
        { name: 'age', scale: { mean: 45, std: 15 } },
        { name: 'income', scale: { mean: 60_000, std: 25_000 } },
        { name: 'debt_ratio', scale: { mean: 0.35, std: 0.2 } },
        { name: 'late_payments', default: 0, scale: { mean: 1, std: 1.5 } },
        { name: 'credit_lines', scale: { mean: 5, std: 3 } },
        { name: 'loan_amount', scale: { mean: 20_000, std: 15_000 } },
        { name: 'has_mortgage', default: 0, scale: { mean: 0.4, std: 0.5 } },
        { name: 'employment', categories: { salaried: 0, self_employed: 1, unemployed: 2, retired: 3 } },
      ],
      output: { name: 'probability', kind: 'classification', labels: ['low', 'high'], threshold: 0.5 },
    },
    sampleRow(next) {
      return {
        age: 18 + Math.floor(next() * 62),
        income: Math.round(15_000 + next() * 135_000),
        debt_ratio: Math.round(next() * 90) / 100,
        late_payments: Math.floor(next() * next() * 8),
        credit_lines: 1 + Math.floor(next() * 12),
        loan_amount: Math.round(1_000 + next() * 59_000),
        has_mortgage: next() < 0.4,
        employment: EMPLOYMENT[Math.floor(next() * EMPLOYMENT.length)] ?? 'salaried',
      };
    },
  };
}

/**
 * Pushes the demo models into the registry and points `production` at them, as a user
 * would with `scoreq models push` and `scoreq models promote`.
 */
export async function registerDemoModels(registry: ModelRegistry, models: DemoModel[]): Promise<void> {
  for (const model of models) {
    const { version } = await registry.push(model.name, model.built.bytes, {
      metadata: model.metadata,
      author: 'scoreq demo',
      comment: model.metadata.description ?? '',
    });
    await registry.promote(model.name, version.version, { alias: 'production', by: 'scoreq demo', reason: 'demo start' });
  }
}

/**
 * Builds the demo models and writes them as a plain models directory:
 * `<dir>/<model>/1/model.onnx` and `<dir>/<model>/1/metadata.json`.
 */
export function demoModels(): DemoModel[] {
  return [churnModel(), riskModel()];
}

export async function writeDemoModels(dir: string, models: DemoModel[] = demoModels()): Promise<DemoModel[]> {
  for (const model of models) {
    const versionDir = join(dir, model.name, DEMO_VERSION);
    await writeModel(versionDir, model.built);
    await writeFile(join(versionDir, 'metadata.json'), `${JSON.stringify(model.metadata, null, 2)}\n`);
  }
  return models;
}

/** A seeded row generator per model, so every demo run scores the same inputs. */
export function rowSource(model: DemoModel, seed: number): () => FeatureRow {
  const next = seededRandom(seed);
  return () => model.sampleRow(next);
}
