// Types for eslint.boundaries.js (plain JS so ESLint loads it without a build step).
export declare const SERVER_LAYERS: string[][];
export declare const boundaries: object[];
export declare const WIRING_FOLDERS: string[];
