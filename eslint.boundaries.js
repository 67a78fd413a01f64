// The server's layering, enforced by the build. A folder of server/src may import only
// from folders in lower layers (or its own); type-only imports from a higher layer are
// listed one by one. Tests may import anything (they drive whole stacks), but production
// code never imports the harness.
//
// Lowest first. The composition root (app.ts, services.ts, main.ts, index.ts) sits above
// every layer and is not listed.
//
// defects/ (the test-defect implementations and seams.ts, which picks them) is wiring:
// it may import from any layer, and no layer may import it, not even its types; only the
// composition root does.
export const SERVER_LAYERS = [
  ['runtime', 'secrets', 'config'],
  ['logging'],
  ['telemetry'],
  ['state'],
  ['resilience', 'context', 'providers'],
  ['vector'],
  ['memory'],
  ['flow'],
  ['mcp'],
  ['transport', 'html', 'cli'],
];

/** Folders of server/src outside the layering, beside the composition root. */
export const WIRING_FOLDERS = ['defects'];

/** Type-only imports allowed across the layering: `folder -> [higher folders]`. */
const TYPE_ONLY_UP = {
  // A session stores the provider's message shape; it never calls a provider.
  state: ['providers'],
};

const ROOT_FILES = ['app', 'services', 'main', 'index'];

function blockFor(folder, layer) {
  const higher = SERVER_LAYERS.slice(layer + 1).flat();
  const typeOnly = TYPE_ONLY_UP[folder] ?? [];
  const hard = higher.filter((f) => !typeOnly.includes(f));
  const patterns = [
    { regex: '^@second-brain/harness', message: 'production code never imports the harness; test helpers live in server/test/support/' },
    {
      regex: `^\\.\\./(${WIRING_FOLDERS.join('|')})/`,
      message: 'test-defect implementations are chosen by the wiring (app.ts, services.ts, main.ts through defects/seams.ts); a layer takes the component it is given (eslint.boundaries.js)',
    },
  ];
  if (hard.length > 0) {
    patterns.push({
      regex: `^\\.\\./(${hard.join('|')})/`,
      message: `${folder}/ is below ${hard.join(', ')} in the server's layering (eslint.boundaries.js)`,
    });
  }
  if (typeOnly.length > 0) {
    patterns.push({
      regex: `^\\.\\./(${typeOnly.join('|')})/`,
      allowTypeImports: true,
      message: `${folder}/ may import only types from ${typeOnly.join(', ')} (eslint.boundaries.js)`,
    });
  }
  patterns.push({
    regex: `^\\.\\./(${ROOT_FILES.join('|')})\\.ts$`,
    allowTypeImports: true,
    message: 'the composition root wires the layers; below it, import only its types',
  });
  return {
    files: [`server/src/${folder}/**/*.ts`],
    ignores: ['server/src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

/** defects/ may import any layer, but neither the harness nor the composition root's values. */
const wiringBlock = {
  files: WIRING_FOLDERS.map((f) => `server/src/${f}/**/*.ts`),
  ignores: ['server/src/**/*.test.ts'],
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', {
      patterns: [
        { regex: '^@second-brain/harness', message: 'production code never imports the harness; test helpers live in server/test/support/' },
        { regex: `^\\.\\./(${ROOT_FILES.join('|')})\\.ts$`, allowTypeImports: true, message: 'the composition root wires the layers; below it, import only its types' },
      ],
    }],
  },
};

export const boundaries = [...SERVER_LAYERS.flatMap((folders, layer) => folders.map((f) => blockFor(f, layer))), wiringBlock];
