console.log("hello", process.versions.node)
