/**
 * One overflow file per bundle. The catalogue's entries (KI-01, KI-03, KI-13, KI-19, KI-22) were
 * seen with stores of about 80 files uploaded one by one; with the default bundling those
 * files go up as one document, and the upload, batch, retry and concurrency machinery the
 * scenarios load would sit idle. A bundle limit of 1 byte closes every bundle after its
 * first file, so each overflow file is one upload, as in the catalogue. The default bundle
 * size (VECTOR_BUNDLE_MAX_BYTES) is exercised by KI-08-twenty-thousand-files and KI-14.
 */
export const UPLOAD_LIMITS_PER_FILE = { bundleMaxBytes: 1, bundleMinBytes: 1 } as const;

/** Server environment for scenarios that need one upload per overflow file. */
export const UPLOAD_PER_FILE_ENV = { SECOND_BRAIN_VECTOR_LIMITS: JSON.stringify(UPLOAD_LIMITS_PER_FILE) } as const;

/** The file a one-file bundle holds, from its upload name `<base name>~<members' tag>.bundle.txt` (the server's bundle naming). */
export const bundledFileName = (uploadName: string): string => uploadName.replace(/~[0-9a-f]+\.bundle\.txt$/, '');
