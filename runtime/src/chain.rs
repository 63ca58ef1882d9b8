//! A real chain, over JSON-RPC (alloy): deploy a verifier contract, check a proof with it by an
//! `eth_call`, or send the proof as a transaction and read the gas from its receipt. The same
//! calldata and bytecode as the in-process EVM (`evm.rs`); here the node runs them.

use crate::error::{Result, RuntimeError};
use alloy::network::{ReceiptResponse, TransactionBuilder};
use alloy::primitives::{Address, Bytes, TxHash};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use std::path::Path;

/// Where the verifier now lives.
pub struct Deployed {
    pub address: Address,
    pub gas_used: u64,
    pub tx_hash: TxHash,
}

/// A proof sent as a transaction and mined.
pub struct Sent {
    pub gas_used: u64,
    pub tx_hash: TxHash,
    pub block: Option<u64>,
}

fn rpc_err(url: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Other(format!("the node at {url} failed: {e}"))
}

/// The one-shot async runtime a command runs its RPC calls on.
fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RuntimeError::Other(format!("cannot start the RPC runtime: {e}")))?
        .block_on(f)
}

fn parse_url(url: &str) -> Result<Url> {
    url.parse().map_err(|e| RuntimeError::Input(format!("--rpc-url {url} is not a URL: {e}")))
}

/// A private key from a file holding its hex (0x optional), as deployment tools keep it: never
/// on the command line, where other users of the machine can read it.
pub fn read_signer(path: &Path) -> Result<PrivateKeySigner> {
    let bytes = crate::files::read(path)?;
    String::from_utf8_lossy(&bytes).trim().parse::<PrivateKeySigner>().map_err(|e| RuntimeError::Corrupt {
        path: path.display().to_string(),
        what: "private key file (the key's 64 hex digits)",
        reason: e.to_string(),
    })
}

/// Deploy `bytecode` (a contract's creation code) from `signer`'s account.
pub fn deploy(rpc_url: &str, signer: PrivateKeySigner, bytecode: Vec<u8>) -> Result<Deployed> {
    let url = parse_url(rpc_url)?;
    block_on(async {
        let provider = ProviderBuilder::new().wallet(signer).connect_http(url);
        let tx = TransactionRequest::default().with_deploy_code(Bytes::from(bytecode));
        let pending = provider.send_transaction(tx).await.map_err(|e| rpc_err(rpc_url, e))?;
        let receipt = pending.get_receipt().await.map_err(|e| rpc_err(rpc_url, e))?;
        if !receipt.status() {
            return Err(RuntimeError::Other(format!(
                "the deployment transaction {} reverted",
                receipt.transaction_hash()
            )));
        }
        let address = receipt.contract_address().ok_or_else(|| {
            RuntimeError::Other(format!("the receipt of {} names no contract", receipt.transaction_hash()))
        })?;
        Ok(Deployed { address, gas_used: receipt.gas_used(), tx_hash: receipt.transaction_hash() })
    })
}

/// An `eth_call` of the verifier at `address` with `calldata`: Ok when it accepts,
/// `InvalidProof` when it reverts. Nothing is written to the chain.
pub fn call(rpc_url: &str, address: Address, calldata: Vec<u8>) -> Result<()> {
    let url = parse_url(rpc_url)?;
    block_on(async {
        let provider = ProviderBuilder::new().connect_http(url);
        let code = provider.get_code_at(address).await.map_err(|e| rpc_err(rpc_url, e))?;
        if code.is_empty() {
            return Err(RuntimeError::Input(format!("no contract is deployed at {address} on {rpc_url}")));
        }
        let tx = TransactionRequest::default().with_to(address).with_input(Bytes::from(calldata));
        match provider.call(tx).await {
            Ok(_) => Ok(()),
            Err(e) if e.as_error_resp().is_some() => {
                Err(RuntimeError::InvalidProof(format!("the verifier at {address} rejected it ({e})")))
            }
            Err(e) => Err(rpc_err(rpc_url, e)),
        }
    })
}

/// The proof as a transaction from `signer`'s account: Ok with the receipt's gas when the
/// verifier accepts, `InvalidProof` when the node says it would revert (nothing is sent then).
pub fn send(rpc_url: &str, signer: PrivateKeySigner, address: Address, calldata: Vec<u8>) -> Result<Sent> {
    let url = parse_url(rpc_url)?;
    block_on(async {
        let provider = ProviderBuilder::new().wallet(signer).connect_http(url);
        let tx = TransactionRequest::default().with_to(address).with_input(Bytes::from(calldata));
        // The gas estimate runs the call: a rejected proof fails here, before anything is sent.
        let pending = match provider.send_transaction(tx).await {
            Ok(p) => p,
            Err(e) if e.as_error_resp().is_some() => {
                return Err(RuntimeError::InvalidProof(format!("the verifier at {address} rejected it ({e})")))
            }
            Err(e) => return Err(rpc_err(rpc_url, e)),
        };
        let receipt = pending.get_receipt().await.map_err(|e| rpc_err(rpc_url, e))?;
        if !receipt.status() {
            return Err(RuntimeError::InvalidProof(format!(
                "the verifier at {address} reverted transaction {}",
                receipt.transaction_hash()
            )));
        }
        Ok(Sent { gas_used: receipt.gas_used(), tx_hash: receipt.transaction_hash(), block: receipt.block_number() })
    })
}

/// An address given on the command line.
pub fn parse_address(text: &str) -> Result<Address> {
    text.trim().parse().map_err(|e| RuntimeError::Input(format!("{text} is not an address: {e}")))
}
