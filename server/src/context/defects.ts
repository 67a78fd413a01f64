/**
 * Test-only defect switches of the context engine (config/test-defects.ts is the
 * registry). services.ts hands the process's set over at startup; nothing here is active
 * unless named in SECOND_BRAIN_TEST_DEFECTS.
 */
let active: ReadonlySet<string> = new Set();

/** Installs the process's defect switches (services.ts, at startup). */
export function setContextDefects(defects: ReadonlySet<string>): void {
  active = defects;
}

export function contextDefectOn(name: string): boolean {
  return active.size > 0 && active.has(name);
}
