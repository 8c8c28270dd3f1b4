package org.opg.wallet;

/** The in-memory store against the contract (volatile: no restart, no medium to tamper with). */
class MemorySecureStoreTest extends SecureStoreContract {
  @Override
  protected SecureStore open() {
    return new MemorySecureStore();
  }

  @Override
  protected SecureStore reopen() {
    return null;
  }

  @Override
  protected boolean tamper(String key) {
    return false;
  }
}
