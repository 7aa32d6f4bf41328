/**
 * Hostile model repos on a mock Hub, added through Add model in the real app: a checkpoint whose
 * config.json claims ten million layers and an ONNX repo announcing a billion external-data files
 * are refused with a translated reason, nothing is added or stored, and the page stays responsive.
 * A repo whose chat template never finishes loads, but the first count of a draft runs into the
 * LLM worker's watchdog: the worker is ended, the reason shown, the draft kept, and another model
 * then chats.
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startMockHub, type MockHub } from '../src/testing/mock-hub.ts';
import { lastReplyText, loadModel, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';
import { useMockHub } from './support/hub.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

let hub: MockHub;

function hostileCopy(dir: string, change: (config: Record<string, unknown>) => void): string {
  const copy = mkdtempSync(join(tmpdir(), 'hanmadi-hostile-'));
  cpSync(dir, copy, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  change(config);
  writeFileSync(join(copy, 'config.json'), JSON.stringify(config));
  return copy;
}

/**
 * tiny-llama with a chat template of ten billion empty loop steps (no output, so no memory: only
 * time), its manifest's digest updated so the download itself verifies.
 */
function endlessTemplateCopy(): string {
  const dir = join(FIXTURES, 'models', 'tiny-llama');
  const copy = mkdtempSync(join(tmpdir(), 'hanmadi-hostile-'));
  cpSync(dir, copy, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  config.chat_template = '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}';
  const bytes = Buffer.from(JSON.stringify(config));
  writeFileSync(join(copy, 'tokenizer_config.json'), bytes);
  const manifest = JSON.parse(readFileSync(join(dir, 'hanmadi-manifest.json'), 'utf8')) as { files: { path: string; size: number; sha256: string }[] };
  const entry = manifest.files.find((f) => f.path === 'tokenizer_config.json')!;
  Object.assign(entry, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  writeFileSync(join(copy, 'hanmadi-manifest.json'), JSON.stringify(manifest));
  return copy;
}

test.beforeAll(async () => {
  hub = await startMockHub({
    repos: {
      'evil/template': { dir: endlessTemplateCopy() },
      'evil/layers': { dir: hostileCopy(join(FIXTURES, 'checkpoints', 'tiny-llama'), (c) => (c.num_hidden_layers = 1e7)) },
      'evil/external': {
        dir: hostileCopy(join(FIXTURES, 'models', 'tiny-llama'), (c) => (c['transformers.js_config'] = { use_external_data_format: { 'model_q4.onnx': 1e9 } })),
      },
    },
  });
});

test.afterAll(async () => {
  await hub?.close();
});

test('Add model refuses a hostile config with the reason, adds nothing and the page stays responsive', async ({ page }) => {
  await useMockHub(page, hub.url);
  await openApp(page);
  const picker = page.getByRole('combobox', { name: 'Model' });
  for (const repo of ['evil/layers', 'evil/external']) {
    await page.getByRole('button', { name: 'Add model' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('URL or repository id').fill(repo);
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog.getByRole('alert')).toContainText("That model's config.json is outside what this app can run");
    // The page answers at once (nothing was planned from the config on its thread).
    expect(await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(1))))).toBe(1);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
  }
  // Nothing joined the list, and it stays so after a reload (nothing was stored either).
  await expect(picker.locator('option[value*="evil/"]')).toHaveCount(0);
  await page.reload();
  await expect(picker.locator('option[value^="local:"]').first()).toBeAttached();
  await expect(picker.locator('option[value*="evil/"]')).toHaveCount(0);
});

test('a chat template that never finishes: the watchdog ends the worker, says why, keeps the draft, and another model chats', async ({ page }) => {
  await useMockHub(page, hub.url);
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: 8 });
  await page.getByRole('button', { name: 'Add model' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('URL or repository id').fill('evil/template');
  await dialog.getByLabel('Name (optional)').fill('Endless template');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog).toBeHidden();
  const key = await page.getByRole('combobox', { name: 'Model' }).locator('option', { hasText: 'Endless template' }).getAttribute('value');
  await loadModel(page, key!);

  // Typing asks the worker for the draft's context budget, which renders the template: it never returns.
  const draft = '이 메시지는 남아 있어야 해요.';
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(draft);
  await expect(page.getByRole('alert')).toContainText(
    "The model's chat template or tokenizer ran for more than 20 seconds without finishing, so it was stopped and the model was unloaded.",
    { timeout: 60_000 },
  );
  await expect(page.getByText('No model loaded')).toBeVisible();
  await expect(box).toHaveValue(draft);
  expect(await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(1))))).toBe(1);

  // The app is usable at once: a sound model loads in a fresh worker and answers the kept draft as the reference does.
  await loadModel(page, 'local:tiny-llama');
  const reference = await ReferenceChat.create('tiny-llama', 'q8');
  const expected = reference.reply([{ role: 'user', content: draft }], 8);
  await replyTo(page, () => send(page, draft), MODEL_STEP_TIMEOUT);
  expect(await lastReplyText(page)).toBe(expected.text);
});
